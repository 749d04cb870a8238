package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/broker/store"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/namesrv"
)

// demoOptions are the flags of `sluice demo`.
type demoOptions struct {
	messages int
	size     int
	dataDir  string
	flush    string
}

// demoCommand runs the demo on embedded defaults: a NameServer and a broker
// in this process, a producer and an orderly consumer, and a check that
// every message arrived once and in order per queue. It grows into the
// MySQL → Parquet pipeline demo as the ingester and sinks land.
func (a *app) demoCommand() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run an embedded NameServer and broker, produce and consume, and check nothing was lost",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.messages <= 0 || o.size <= 0 || o.size > 4<<20 {
				return configError(fmt.Errorf("sluice demo: --messages must be positive and --size in 1..4194304"))
			}
			if o.flush != "async" && o.flush != "sync" {
				return configError(fmt.Errorf("sluice demo: --flush must be async or sync, not %q", o.flush))
			}
			if err := runDemo(cmd.Context(), a.stdout, o); err != nil {
				return runtimeError(err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.messages, "messages", 100_000, "messages to produce and consume")
	f.IntVar(&o.size, "size", 1024, "message body size in bytes")
	f.StringVar(&o.dataDir, "data-dir", "", "broker data directory (default: a temporary directory, removed afterwards)")
	f.StringVar(&o.flush, "flush", "sync", "broker flush mode: sync (ack after fdatasync) or async")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, o demoOptions) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir := o.dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sluice-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	ns, b, stop, err := startEmbedded(ctx, dir, o.flush, log)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(out, "sluice demo: NameServer %s, broker %s (%s flush, data in %s)\n", ns.Addr(), b.AdvertisedAddr(), o.flush, dir)

	nameServer := ns.Addr().String()
	topic := "demo_orders"
	if err := createDemoTopic(ctx, nameServer, b.AdvertisedAddr(), topic, log); err != nil {
		return err
	}
	start := time.Now()
	if err := produceDemo(ctx, nameServer, topic, o, log); err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(out, "produced %d messages of %d B in %v: %.0f msgs/s, %.1f MB/s\n",
		o.messages, o.size, elapsed.Round(time.Millisecond), float64(o.messages)/elapsed.Seconds(),
		float64(o.messages*o.size)/elapsed.Seconds()/1e6)

	start = time.Now()
	dups, err := consumeDemo(ctx, nameServer, topic, o, log)
	if err != nil {
		return err
	}
	elapsed = time.Since(start)
	fmt.Fprintf(out, "consumed %d messages in order per queue in %v: %.0f msgs/s (%d redelivered)\n",
		o.messages, elapsed.Round(time.Millisecond), float64(o.messages)/elapsed.Seconds(), dups)
	fmt.Fprintln(out, "every acknowledged message was consumed: OK")
	return nil
}

// startEmbedded runs a NameServer and a broker registered with it.
func startEmbedded(ctx context.Context, dir, flush string, log *slog.Logger) (*namesrv.NameServer, *broker.Broker, func(), error) {
	nopts := namesrv.NewOptions()
	nopts.Listen, nopts.Logger = "127.0.0.1:0", log
	ns, err := namesrv.New(nopts)
	if err != nil {
		return nil, nil, nil, err
	}
	bopts := broker.NewOptions()
	bopts.Listen, bopts.DataDir, bopts.Logger = "127.0.0.1:0", dir, log
	bopts.NameServers = []string{ns.Addr().String()}
	bopts.Store.SegmentSize = 256 << 20
	if flush == "sync" {
		bopts.Store.FlushMode = store.FlushSync
	}
	b, err := broker.New(bopts)
	if err != nil {
		ns.Close()
		return nil, nil, nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ns.Run(runCtx) }()
	go func() { defer wg.Done(); b.Run(runCtx) }()
	stop := func() {
		b.Close() // first, so it unregisters from a live NameServer
		cancel()
		ns.Close()
		wg.Wait()
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Stats().Registrations == 0 {
		if time.Now().After(deadline) {
			stop()
			return nil, nil, nil, fmt.Errorf("broker did not register with the NameServer within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ns, b, stop, nil
}

func createDemoTopic(ctx context.Context, nameServer, brokerAddr, topic string, log *slog.Logger) error {
	copts := client.NewOptions(nameServer)
	copts.Logger = log
	cl, err := client.NewClient(copts)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := client.NewAdmin(cl)
	if err := adm.CreateTopic(ctx, brokerAddr, client.TopicConfig{Topic: topic, ReadQueueNums: 8, WriteQueueNums: 8, Perm: 6}); err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := adm.TopicRoute(ctx, topic); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("route of %s: %w", topic, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// produceDemo sends o.messages bodies carrying their sequence number, keyed
// by one of 64 "order ids" so each key keeps its order, in batches of 64
// from 4 goroutines.
func produceDemo(ctx context.Context, nameServer, topic string, o demoOptions, log *slog.Logger) error {
	popts := client.NewProducerOptions(nameServer)
	popts.ClientOptions.Logger = log
	p, err := client.NewProducer(popts)
	if err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return err
	}
	defer p.Shutdown()
	const workers, batchSize = 4, 64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := w * batchSize; lo < o.messages; lo += workers * batchSize {
				batch := make([]*client.Message, 0, batchSize)
				for seq := lo; seq < min(lo+batchSize, o.messages); seq++ {
					body := make([]byte, o.size)
					binary.BigEndian.PutUint64(body, uint64(seq))
					batch = append(batch, client.NewMessage(topic, body))
				}
				if _, err := p.SendSync(ctx, batch...); err != nil {
					errs <- fmt.Errorf("send batch at %d: %w", lo, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// consumeDemo reads the topic with an orderly consumer until every sequence
// number was seen, checking queue offsets only grow per queue. It returns
// how many messages arrived more than once.
func consumeDemo(ctx context.Context, nameServer, topic string, o demoOptions, log *slog.Logger) (int, error) {
	copts := client.NewPushConsumerOptions("demo_consumer", nameServer)
	copts.ClientOptions.Logger = log
	copts.ConsumeFrom = client.ConsumeFromFirstOffset
	copts.Orderly = true
	copts.ConsumeBatchSize = 32
	c, err := client.NewPushConsumer(copts)
	if err != nil {
		return 0, err
	}
	seen := make([]bool, o.messages)
	var mu sync.Mutex
	remaining, dups := o.messages, 0
	last := map[int32]int64{}
	var orderErr error
	done := make(chan struct{})
	err = c.Subscribe(topic, "*", func(_ context.Context, msgs []*client.MessageExt) client.ConsumeResult {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			if prev, ok := last[m.QueueID]; ok && m.QueueOffset <= prev && orderErr == nil {
				orderErr = fmt.Errorf("queue %d: offset %d after %d", m.QueueID, m.QueueOffset, prev)
			}
			last[m.QueueID] = m.QueueOffset
			seq := int(binary.BigEndian.Uint64(m.Body))
			if seq < 0 || seq >= len(seen) {
				continue
			}
			if seen[seq] {
				dups++
				continue
			}
			seen[seq] = true
			if remaining--; remaining == 0 {
				close(done)
			}
		}
		return client.ConsumeSuccess
	})
	if err != nil {
		return 0, err
	}
	if err := c.Start(); err != nil {
		return 0, err
	}
	defer c.Shutdown()
	select {
	case <-done:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(5 * time.Minute):
		mu.Lock()
		defer mu.Unlock()
		return 0, fmt.Errorf("consumed %d of %d messages within 5 minutes", o.messages-remaining, o.messages)
	}
	mu.Lock()
	defer mu.Unlock()
	return dups, orderErr
}
