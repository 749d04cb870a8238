// Package broker is Sluice's RocketMQ-compatible broker daemon: one member
// of a broker set (brokerId 0 is the master). It serves Apache RocketMQ's
// remoting protocol, so Apache RocketMQ's own clients work against it
// unchanged:
//
//   - sends (SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE) are appended
//     to the CommitLog in arrival order per connection; under SYNC_FLUSH the
//     reply waits for the group-committed fsync;
//   - pulls read a topic queue's ConsumeQueue, filter by tag with the
//     group's subscription, and are held (long polling) when there is
//     nothing to return;
//   - heartbeats keep a client table per consumer group, from which queue
//     rebalancing (GET_CONSUMER_LIST_BY_GROUP) and pull filtering are
//     served; members leave when their connection closes or after
//     ClientExpiry;
//   - consumer offsets, topic and group configuration persist under
//     <data-dir>/config in Apache RocketMQ's JSON formats;
//   - failed messages come back through %RETRY%<group> after a delay level,
//     and go to %DLQ%<group> when their retries are spent; delayed messages
//     wait in SCHEDULE_TOPIC_XXXX;
//   - the broker registers its topics with every NameServer at start, every
//     RegisterInterval and at once after a topic changes.
//
// The storage engine is package broker/store.
package broker
