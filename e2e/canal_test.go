package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/sluicehq/sluice/canal"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/mysqltest"
	"github.com/sluicehq/sluice/internal/testutil"
)

// TestE2ECanalGoClientOrderly: the ingester captures a private MariaDB into
// `sluice` broker processes, and Apache RocketMQ's Go client, consuming
// orderly, reads every change as Canal FlatMessage JSON with each key's
// changes in source order.
func TestE2ECanalGoClientOrderly(t *testing.T) {
	db := mysqltest.Start(t, nil)
	c := startCluster(t)
	db.Exec("CREATE DATABASE shop")
	db.Exec("CREATE TABLE shop.orders (id INT PRIMARY KEY, status VARCHAR(16), n INT)")

	popts := client.NewProducerOptions(c.ns.Addr)
	popts.ClientOptions.Logger = testutil.Logger(t)
	prod, err := client.NewProducer(popts)
	if err != nil {
		t.Fatal(err)
	}
	if err := prod.Start(); err != nil {
		t.Fatal(err)
	}
	defer prod.Shutdown()
	cfg := canal.DefaultConfig()
	cfg.Source.Host, cfg.Source.Port, cfg.Source.ServerID = db.Host, db.Port, db.ServerID+1000
	cfg.DataDir = t.TempDir()
	cfg.Filter.Include = []string{`shop\.orders`}
	cfg.Routes = []canal.RouteRule{{Match: `shop\.orders`, Topic: "cdc-orders"}}
	cfg.Publish.Queues = 4
	cfg.Logger = testutil.Logger(t)
	in, err := canal.New(cfg, prod)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ingester: %v", err)
		}
	}()
	eventually(t, 60*time.Second, func() bool { return in.Stats().Committed.File != "" }, "the ingester never started streaming")

	const keys, rounds = 50, 6
	for r := range rounds {
		for k := range keys {
			if r == 0 {
				db.Exec("INSERT INTO shop.orders VALUES (?, 'new', 0)", k)
			} else {
				db.Exec("UPDATE shop.orders SET n = ?, status = 'paid' WHERE id = ?", r, k)
			}
		}
	}
	want := keys * rounds

	var mu sync.Mutex
	last := map[string]int{}
	var problems []string
	got := 0
	goPushConsumer(t, c.ns.Addr, uniqueName(t, "cdc"), "cdc-orders", "*", true,
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				ev, err := canal.DecodeFlat(m.Body)
				if err != nil {
					problems = append(problems, err.Error())
					continue
				}
				got++
				var id string
				n := -1
				for _, cell := range ev.Data {
					switch cell.Name {
					case "id":
						id = cell.S
					case "n":
						fmt.Sscan(cell.S, &n)
					}
				}
				// In order, without gaps; a redelivery after a rebalance
				// may repeat what came before.
				prev, ok := last[id]
				if !ok {
					prev = -1
				}
				if n > prev+1 {
					problems = append(problems, fmt.Sprintf("key %s: n=%d after %d (a change is missing or out of order)", id, n, prev))
				}
				last[id] = max(prev, n)
				if ev.Database != "shop" || ev.Table != "orders" || ev.GTID == "" || ev.XID == 0 {
					problems = append(problems, fmt.Sprintf("event fields: %+v", ev))
				}
			}
			return consumer.ConsumeSuccess, nil
		})
	eventually(t, 90*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return got >= want },
		"the Go client read %d of %d change events", got, want)
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Fatalf("%d problems, first: %s", len(problems), problems[0])
	}
	if len(last) != keys {
		t.Fatalf("%d keys seen, want %d", len(last), keys)
	}
	for id, n := range last {
		if n != rounds-1 {
			t.Fatalf("key %s ends at n=%d, want %d", id, n, rounds-1)
		}
	}
}
