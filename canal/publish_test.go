package canal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testutil"
)

// testProducer starts a Sluice producer against nameServer.
func testProducer(t testing.TB, nameServer string) *client.Producer {
	t.Helper()
	opts := client.NewProducerOptions(nameServer)
	opts.ClientOptions.Logger = testutil.Logger(t)
	p, err := client.NewProducer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown() })
	return p
}

// readTopic returns the bodies of the messages of topic, per queue id in
// queue order, once there are at least want (the broker indexes messages
// shortly after acknowledging them).
func readTopic(t testing.TB, nameServer, topic string, want int) map[int][]string {
	t.Helper()
	var out map[int][]string
	testutil.Eventually(t, 120*time.Second, func() bool {
		out = readTopicOnce(t, nameServer, topic)
		n := 0
		for _, b := range out {
			n += len(b)
		}
		return n >= want
	}, "topic %s never held %d messages", topic, want)
	return out
}

func readTopicOnce(t testing.TB, nameServer, topic string) map[int][]string {
	t.Helper()
	opts := client.NewPullConsumerOptions("reader_"+strings.ReplaceAll(t.Name(), "/", "_"), nameServer)
	opts.ClientOptions.Logger = testutil.Logger(t)
	pc, err := client.NewPullConsumer(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := client.NewClient(client.NewOptions(nameServer))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	route, err := client.NewAdmin(cl).TopicRoute(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]string{}
	for _, qd := range route.QueueDatas {
		for q := 0; q < int(qd.ReadQueueNums); q++ {
			mq := client.MessageQueue{Topic: topic, BrokerName: qd.BrokerName, QueueID: int32(q)}
			for off := int64(0); ; {
				res, err := pc.PullQueue(ctx, mq, off, 256)
				if err != nil {
					t.Fatalf("pull %v at %d: %v", mq, off, err)
				}
				if len(res.Messages) == 0 {
					if res.Status != client.PullNoNewMsg {
						t.Logf("pull %v at %d: %v (min %d max %d)", mq, off, res.Status, res.MinOffset, res.MaxOffset)
					}
					break
				}
				for _, m := range res.Messages {
					out[q] = append(out[q], string(m.Body))
				}
				off = res.NextBeginOffset
			}
		}
	}
	return out
}

// TestCanalPublisherOrderAndCommit publishes transactions spread over
// queues: each queue holds its events in publish order, and the committed
// resume point is the last transaction's end once all were acknowledged.
func TestCanalPublisherOrderAndCommit(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	cfg := DefaultPublishConfig()
	cfg.Queues, cfg.BatchMessages = 4, 16
	tr := newTracker(resumePoint{File: "binlog.000001", Pos: 4})
	p := newPublisher(t.Context(), cfg, testProducer(t, c.NameServer.Addr), tr, testutil.Logger(t))
	const txns, perTxn = 50, 20
	for i := range txns {
		x := tr.begin()
		for j := range perTxn {
			key := fmt.Sprint(j % 7)
			body := fmt.Sprintf("%s/%04d/%02d", key, i, j)
			if err := p.publish("Orders", QueueOf("shop", "orders", []Cell{{S: key}}, 4), []byte(body), "", x); err != nil {
				t.Fatal(err)
			}
		}
		tr.end(x, resumePoint{File: "binlog.000001", Pos: uint32(100 + i)})
	}
	if err := p.close(true); err != nil {
		t.Fatal(err)
	}
	if at, seq := tr.Committed(); at.Pos != 100+txns-1 || seq != txns {
		t.Fatalf("committed %+v seq %d, want pos %d", at, seq, 100+txns-1)
	}
	got := readTopic(t, c.NameServer.Addr, "Orders", txns*perTxn)
	total := 0
	for q, bodies := range got {
		total += len(bodies)
		last := map[string]string{}
		for _, b := range bodies {
			key := b[:strings.IndexByte(b, '/')]
			if want := QueueOf("shop", "orders", []Cell{{S: key}}, 4); want != q {
				t.Fatalf("key %s in queue %d, want %d", key, q, want)
			}
			if b <= last[key] {
				t.Fatalf("queue %d: %s after %s", q, b, last[key])
			}
			last[key] = b
		}
	}
	if total != txns*perTxn {
		t.Fatalf("%d events on the topic, want %d", total, txns*perTxn)
	}
}

// TestCanalPublisherStopsAtFirstFailure: with the broker gone, the
// publisher fails, and the committed point never passes an unacknowledged
// transaction.
func TestCanalPublisherStopsAtFirstFailure(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	cfg := DefaultPublishConfig()
	cfg.Queues = 2
	tr := newTracker(resumePoint{File: "binlog.000001", Pos: 4})
	prod := testProducer(t, c.NameServer.Addr)
	p := newPublisher(t.Context(), cfg, prod, tr, testutil.Logger(t))
	x := tr.begin()
	if err := p.publish("Fails", 0, []byte("first"), "", x); err != nil {
		t.Fatal(err)
	}
	tr.end(x, resumePoint{File: "binlog.000001", Pos: 200})
	testutil.Eventually(t, 10*time.Second, func() bool { _, seq := tr.Committed(); return seq == 1 }, "first txn never acknowledged")
	if err := c.Broker.Close(); err != nil {
		t.Fatal(err)
	}
	y := tr.begin()
	var err error
	for i := 0; err == nil && i < 1000; i++ {
		err = p.publish("Fails", i%2, []byte("second"), "", y)
		time.Sleep(time.Millisecond)
	}
	tr.end(y, resumePoint{File: "binlog.000001", Pos: 300})
	testutil.Eventually(t, 60*time.Second, func() bool { return p.Err() != nil }, "publisher never failed without a broker")
	if err := p.close(false); err == nil {
		t.Fatal("close after a failed send reported no error")
	}
	if at, _ := tr.Committed(); at.Pos != 200 {
		t.Fatalf("committed %+v after a failed send, want the first txn's end 200", at)
	}
}

func TestCanalPublisherRefusesOversizedEvent(t *testing.T) {
	cfg := DefaultPublishConfig()
	cfg.MaxMessageBytes = 1024
	tr := newTracker(resumePoint{})
	p := &publisher{cfg: cfg, tracker: tr}
	err := p.publish("T", 0, make([]byte, 1025), "", tr.begin())
	if !errors.Is(err, ErrMessageTooLarge) || !strings.Contains(err.Error(), "1025 bytes") {
		t.Fatalf("oversized event: %v", err)
	}
}
