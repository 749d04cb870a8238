package client

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// Errors callers branch on with errors.Is.
var (
	// ErrShutdown is returned by calls on a producer, consumer or client
	// that has been shut down.
	ErrShutdown = errors.New("client: shut down")
	// ErrNotStarted is returned by calls that need Start first.
	ErrNotStarted = errors.New("client: not started")
	// ErrAlreadyStarted is returned by a second Start, or by configuration
	// calls that are only allowed before Start.
	ErrAlreadyStarted = errors.New("client: already started")
	// ErrTopicNotExist means no NameServer knows the topic, or a broker
	// answered TOPIC_NOT_EXIST (17). A *BrokerError with code 17 matches it.
	ErrTopicNotExist = errors.New("client: topic does not exist")
	// ErrNoRoute means no route could be found: no NameServer answered, or
	// the route has no queue the call can use (no writable queue with a
	// live master, no readable queue).
	ErrNoRoute = errors.New("client: no route")
	// ErrInvalidMessage means a message failed validation before anything
	// was sent.
	ErrInvalidMessage = errors.New("client: invalid message")
	// ErrInvalidOptions means options failed validation.
	ErrInvalidOptions = errors.New("client: invalid options")
	// ErrGroupInUse means a consumer group is already registered on the
	// same Client (one client id may hold a group once, as in RocketMQ).
	ErrGroupInUse = errors.New("client: consumer group already registered on this client")
	// ErrNotAssigned means a queue is not assigned to this consumer.
	ErrNotAssigned = errors.New("client: queue not assigned to this consumer")
	// ErrOffsetNotFound means the broker holds no committed offset for the
	// group and queue (QUERY_NOT_FOUND, 22).
	ErrOffsetNotFound = errors.New("client: no committed offset")
	// ErrMessageNotFound means a query found no message.
	ErrMessageNotFound = errors.New("client: message not found")
)

// BrokerError is a non-success response from a broker or NameServer. It
// carries the wire response code; errors.Is(err, ErrTopicNotExist) holds for
// code 17.
type BrokerError struct {
	Op     string // what was asked, e.g. "send", "pull"
	Addr   string // server address
	Code   int16  // response code (internal/protocol constants)
	Remark string // server's remark
}

// Error formats the operation, server, code and remark.
func (e *BrokerError) Error() string {
	return fmt.Sprintf("%s to %s: response code %d: %s", e.Op, e.Addr, e.Code, e.Remark)
}

// Is lets a BrokerError match the sentinel errors its code stands for.
func (e *BrokerError) Is(target error) bool {
	switch target {
	case ErrTopicNotExist:
		return e.Code == protocol.TopicNotExist
	case ErrOffsetNotFound:
		return e.Code == protocol.QueryNotFound
	}
	return false
}

// responseError turns a response whose code is not in ok into a
// *BrokerError.
func responseError(op, addr string, resp *remoting.Command, ok ...int16) error {
	for _, c := range ok {
		if resp.Code == c {
			return nil
		}
	}
	if len(ok) == 0 && resp.Code == protocol.Success {
		return nil
	}
	return &BrokerError{Op: op, Addr: addr, Code: resp.Code, Remark: resp.Remark}
}
