// Package client is Sluice's Go client for Apache RocketMQ's remoting
// protocol: a producer, push and pull consumers and admin calls. It talks to
// Sluice's NameServer and broker and to Apache RocketMQ clusters alike.
//
// # Pieces
//
//	Client        one per process and cluster: a multiplexed connection per
//	              server, the topic route cache (refreshed every 30 s), and the
//	              heartbeat (every 30 s) announcing producer and consumer groups
//	Producer      SendSync (one message, or a batch of one topic), SendAsync
//	              (pipelined, callbacks in send order per queue), SendOneway,
//	              SendToQueue; retries on another broker unless the queue is fixed
//	PushConsumer  long-polls its queues and calls handlers, concurrently (lowest
//	              unprocessed offset committed, failures retried through
//	              %RETRY%<group>, then %DLQ%<group>) or orderly (queue locks)
//	PullConsumer  fetches in the background, hands batches out through Poll;
//	              the caller commits offsets explicitly
//	Admin         topics, clusters, offsets, message lookups
//
// Producers and consumers take an optional shared *Client in their options;
// without one each creates (and closes) its own.
//
// # Delivery
//
// Sends are acknowledged once stored; FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT
// and SLAVE_NOT_AVAILABLE are stored results too (SendStatus), never retried.
// A send that failed (SYSTEM_ERROR, SERVICE_NOT_AVAILABLE, NO_PERMISSION,
// TOPIC_NOT_EXIST, transport errors) is retried up to RetryTimes on a queue of
// another broker, and the failing broker is avoided for FaultBackoff. A
// message whose queue the caller fixed (ShardingKey, Selector, SendToQueue) is
// retried on that queue only: per-key order matters more than availability.
// Retries can store a message twice; the UNIQ_KEY (SendResult.MsgID,
// MessageExt.MsgID) stays the same, so consumers can deduplicate.
//
// Consumption is at-least-once: a consumer commits a queue's lowest
// unprocessed offset, so a crash or a rebalance can redeliver, never skip.
// Orderly consumers hold a broker lock per queue (renewed every 20 s, trusted
// for 30 s) and hand a queue over only after committing and unlocking it, so
// no queue is consumed by two members at once.
//
// # Example
//
//	cl, _ := client.NewClient(client.NewOptions("10.0.0.1:9876"))
//	defer cl.Close()
//	po := client.NewProducerOptions()
//	po.Client = cl
//	p, _ := client.NewProducer(po)
//	p.Start()
//	defer p.Shutdown()
//	res, err := p.SendSync(ctx, client.NewMessage("orders", body).WithKeys(id).WithShardingKey(pk))
package client
