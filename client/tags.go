package client

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/message"
	"github.com/sluicehq/sluice/internal/protocol"
)

// subscription is a topic with its tag filter.
type subscription struct {
	topic   string
	expr    string   // as given, "*" for all
	tags    []string // sorted, empty for all
	codes   []int64  // Java String.hashCode of each tag, same order
	version int64    // ns, like rocketmq-client-go's subVersion
	handler Handler  // push consumers only
}

// parseSubscription parses a tag expression: "", "*" (every message) or
// tags joined by "||" ("a || b"). Spaces around tags are ignored.
func parseSubscription(topic, expr string) (*subscription, error) {
	if err := message.ValidateTopic(topic); err != nil {
		return nil, fmt.Errorf("%w: topic %q is not a valid topic name", ErrInvalidOptions, topic)
	}
	s := &subscription{topic: topic, expr: strings.TrimSpace(expr), version: time.Now().UnixNano()}
	if s.expr == "" || s.expr == protocol.SubAll {
		s.expr = protocol.SubAll
		return s, nil
	}
	for _, t := range strings.Split(s.expr, "||") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if t == protocol.SubAll || strings.ContainsAny(t, "\x01\x02") {
			return nil, fmt.Errorf("%w: tag expression %q: tag %q is not allowed", ErrInvalidOptions, expr, t)
		}
		s.tags = append(s.tags, t)
	}
	if len(s.tags) == 0 {
		return nil, fmt.Errorf("%w: tag expression %q names no tag", ErrInvalidOptions, expr)
	}
	slices.Sort(s.tags)
	s.tags = slices.Compact(s.tags)
	for _, t := range s.tags {
		s.codes = append(s.codes, message.TagsHash(t))
	}
	return s, nil
}

// matches re-checks a message's tag on the client: brokers filter by tag
// hash, which can collide.
func (s *subscription) matches(tags string) bool {
	if len(s.tags) == 0 {
		return true
	}
	_, ok := slices.BinarySearch(s.tags, tags)
	return ok
}

// data is the subscription as heartbeats carry it.
func (s *subscription) data() protocol.SubscriptionData {
	return protocol.SubscriptionData{
		Topic: s.topic, SubString: s.expr, TagsSet: append([]string{}, s.tags...),
		CodeSet: append(protocol.CodeSet{}, s.codes...), SubVersion: s.version,
		ExpressionType: protocol.ExpressionTag,
	}
}
