package e2e

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
	"github.com/sluicehq/sluice/internal/testutil"
)

// runtimeInfo reads a broker's GET_BROKER_RUNTIME_INFO table.
func runtimeInfo(addr string) map[string]string {
	cl := remoting.NewClient(remoting.DefaultClientOptions())
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := cl.Invoke(ctx, addr, remoting.NewRequest(protocol.GetBrokerRuntimeInfo, nil, nil))
	if err != nil || resp.Code != protocol.Success {
		return nil
	}
	var kv struct {
		Table map[string]string `json:"table"`
	}
	if protocol.Decode(resp.Body, &kv) != nil {
		return nil
	}
	return kv.Table
}

// startHAConsumer consumes topic from its first offset with a new group of
// Sluice's push consumer that refreshes routes every second.
func startHAConsumer(t *testing.T, nameServer, topic string, got *received) (stop func()) {
	copts := client.NewPushConsumerOptions(uniqueName(t, "hacg"), nameServer)
	copts.ClientOptions.Logger = testutil.Logger(t)
	copts.ClientOptions.RouteRefreshInterval = time.Second
	copts.ConsumeFrom = client.ConsumeFromFirstOffset
	copts.ConsumeBatchSize = 32
	copts.PullRetryDelay = 200 * time.Millisecond
	consumer, err := client.NewPushConsumer(copts)
	if err != nil {
		t.Fatal(err)
	}
	err = consumer.Subscribe(topic, "*", func(_ context.Context, msgs []*client.MessageExt) client.ConsumeResult {
		got.addSluice(msgs)
		return client.ConsumeSuccess
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := consumer.Start(); err != nil {
		t.Fatal(err)
	}
	return func() { consumer.Shutdown() }
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// ackedSet records the bodies whose send got SEND_OK.
type ackedSet struct {
	mu     sync.Mutex
	bodies []string
}

func (a *ackedSet) add(body string) {
	a.mu.Lock()
	a.bodies = append(a.bodies, body)
	a.mu.Unlock()
}

func (a *ackedSet) snapshot() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.bodies...)
}

// TestE2EHAMasterKilled runs a SYNC_MASTER and its slave as processes;
// Apache RocketMQ's Go client and Sluice's client produce; the master is
// killed with SIGKILL mid-load. Every message that got SEND_OK is on the
// slave, a consumer group keeps consuming from the slave and misses
// nothing, and the restarted master rejoins with the slave caught up.
func TestE2EHAMasterKilled(t *testing.T) {
	ns := startNameServer(t)
	mAddr, mHA := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	master := startProc(t, "master", mAddr, brokerArgs(mAddr, ns.Addr, t.TempDir(),
		"--role", "SYNC_MASTER", "--ha-listen", mHA)...)
	sAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startProc(t, "slave", sAddr, brokerArgs(sAddr, ns.Addr, t.TempDir(), "--role", "SLAVE", "--broker-id", "1")...)
	c := &cluster{ns: ns, broker: master}
	topic := uniqueName(t, "ha")
	goCreateTopic(t, c, topic, 4)
	eventually(t, 30*time.Second, func() bool { return runtimeInfo(mAddr)["slave.1.inSync"] == "true" },
		"slave never in sync with the master")

	var acked ackedSet
	stop := make(chan struct{})
	var wg sync.WaitGroup
	goP := goProducer(t, ns.Addr)
	sluiceP := sluiceProducer(t, ns.Addr)
	produce := func(name string, send func(body string) bool) {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if body := fmt.Sprintf("%s-%06d", name, i); send(body) {
					acked.add(body)
				}
			}
		})
	}
	for w := range 2 {
		produce(fmt.Sprint("go", w), func(body string) bool {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			res, err := goP.SendSync(ctx, primitive.NewMessage(topic, []byte(body)))
			return err == nil && res.Status == primitive.SendOK
		})
		produce(fmt.Sprint("sluice", w), func(body string) bool {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			res, err := sluiceP.SendSync(ctx, client.NewMessage(topic, []byte(body)))
			return err == nil && res.Status == client.SendOK
		})
	}

	// One group consumes through the failover; another starts only once
	// the master is dead, so everything it reads comes from the slave.
	got := newReceived()
	stopConsumer := startHAConsumer(t, ns.Addr, topic, got)
	defer stopConsumer()
	// Apache RocketMQ's Go client too. Its handler is held until the master
	// is dead and it buffers at most ~40 messages a queue, so most of what
	// it gets comes from the slave, once its route shows no master.
	goGot := newReceived()
	killed := make(chan struct{})
	goPushConsumer(t, ns.Addr, uniqueName(t, "hago"), topic, "*", false,
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			<-killed
			goGot.add(msgs...)
			return consumer.ConsumeSuccess, nil
		}, consumer.WithPullBatchSize(8), consumer.WithPullThresholdForQueue(32))

	eventually(t, 60*time.Second, func() bool { return len(acked.snapshot()) >= 2000 }, "producers made no progress")
	master.kill()
	close(killed)
	time.Sleep(time.Second) // sends now fail: the master is gone
	close(stop)
	wg.Wait()
	want := acked.snapshot()
	t.Logf("%d messages acknowledged SEND_OK before SIGKILL", len(want))
	eventually(t, 90*time.Second, func() bool { return len(got.missing(want)) == 0 },
		"with the master down, %d acknowledged messages never reached the consumer from the slave", len(got.missing(want)))
	eventually(t, 120*time.Second, func() bool { return len(goGot.missing(want)) == 0 },
		"with the master down, %d acknowledged messages never reached the Go client's consumer from the slave", len(goGot.missing(want)))
	late := newReceived()
	stopLate := startHAConsumer(t, ns.Addr, topic, late)
	eventually(t, 90*time.Second, func() bool { return len(late.missing(want)) == 0 },
		"a group started with the master down read %d of %d acknowledged messages from the slave",
		len(want)-len(late.missing(want)), len(want))
	stopLate()

	master.restart()
	eventually(t, 60*time.Second, func() bool {
		mi, si := runtimeInfo(mAddr), runtimeInfo(sAddr)
		return mi["slave.1.inSync"] == "true" && si["commitLogMaxOffset"] != "" && si["commitLogMaxOffset"] == mi["commitLogMaxOffset"]
	}, "the restarted master and its slave never converged")
	// The restarted master began a new term; its first write reaches the
	// slave, which records the epoch with it.
	res, err := sluiceP.SendSync(ctxTimeout(t, 30*time.Second), client.NewMessage(topic, []byte("after-return")))
	if err != nil || res.Status != client.SendOK {
		t.Fatalf("send after the master's return: %v %v", res, err)
	}
	if mi, si := runtimeInfo(mAddr), runtimeInfo(sAddr); mi["epoch"] != si["epoch"] || atoi(mi["epoch"]) < 2 {
		t.Fatalf("epochs after the master's return: master %q, slave %q (want a new term, shared)", mi["epoch"], si["epoch"])
	}
}
