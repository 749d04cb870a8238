package client_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testutil"
)

func TestClientAdmin(t *testing.T) {
	c := testutil.StartCluster(t, nil)
	cl := newClient(t, c, "admin")
	admin := client.NewAdmin(cl)
	ctx := ctxT(t, 30*time.Second)

	info, err := admin.ClusterInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bd := info.BrokerAddrTable["broker-a"]
	if names := info.ClusterAddrTable["DefaultCluster"]; !slices.Contains(names, "broker-a") || bd.MasterAddr() != c.Broker.Addr {
		t.Fatalf("cluster info %+v", info)
	}
	if err := admin.CreateTopic(ctx, c.Broker.Addr, client.TopicConfig{Topic: "AdminTopic", ReadQueueNums: 3, WriteQueueNums: 3}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		topics, err := admin.TopicList(ctx)
		return err == nil && slices.Contains(topics, "AdminTopic")
	}, "topic list has AdminTopic")
	route, err := admin.TopicRoute(ctx, "AdminTopic")
	if err != nil || len(route.QueueDatas) != 1 || route.QueueDatas[0].ReadQueueNums != 3 || route.QueueDatas[0].Perm != 6 {
		t.Fatalf("route %+v, %v", route, err)
	}
	if _, err := admin.TopicRoute(ctx, "NoSuchTopic"); !errors.Is(err, client.ErrTopicNotExist) {
		t.Errorf("route of a missing topic: %v", err)
	}

	p := newProducer(t, cl, nil)
	mq := client.MessageQueue{Topic: "AdminTopic", BrokerName: "broker-a", QueueID: 2}
	start := time.Now()
	var last *client.SendResult
	for i := range 5 {
		res, err := p.SendToQueue(ctx, mq, client.NewMessage("AdminTopic", []byte{'m', byte('0' + i)}).WithKeys("order-42", "k"+string(rune('0'+i))))
		if err != nil {
			t.Fatal(err)
		}
		last = res
	}
	// The broker builds its queue index asynchronously, as RocketMQ does.
	testutil.Eventually(t, 5*time.Second, func() bool {
		max, err := admin.MaxOffset(ctx, mq)
		return err == nil && max == 5
	}, "max offset reaches 5")
	if min, err := admin.MinOffset(ctx, mq); err != nil || min != 0 {
		t.Errorf("min offset %d, %v", min, err)
	}
	if off, err := admin.SearchOffset(ctx, mq, start.Add(-time.Hour)); err != nil || off != 0 {
		t.Errorf("search offset %d, %v", off, err)
	}
	if _, err := admin.QueryConsumerOffset(ctx, "cg-admin", mq); !errors.Is(err, client.ErrOffsetNotFound) && err != nil {
		t.Errorf("offset of a new group: %v", err)
	}
	if err := admin.UpdateConsumerOffset(ctx, "cg-admin", mq, 3); err != nil {
		t.Fatal(err)
	}
	if off, err := admin.QueryConsumerOffset(ctx, "cg-admin", mq); err != nil || off != 3 {
		t.Errorf("committed offset %d, %v", off, err)
	}

	m, err := admin.ViewMessage(ctx, last.OffsetMsgID)
	if err != nil || string(m.Body) != "m4" || m.MsgID != last.MsgID {
		t.Fatalf("view message: %v %v", m, err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		msgs, err := admin.QueryMessageByKey(ctx, "AdminTopic", "order-42")
		return err == nil && len(msgs) == 5
	}, "query by key finds the 5 messages")
	msgs, err := admin.QueryMessageByID(ctx, "AdminTopic", last.MsgID)
	if err != nil || len(msgs) != 1 || string(msgs[0].Body) != "m4" {
		t.Errorf("query by id: %v %v", msgs, err)
	}
	if _, err := admin.QueryMessageByKey(ctx, "AdminTopic", "nope"); !errors.Is(err, client.ErrMessageNotFound) {
		t.Errorf("query of a missing key: %v", err)
	}

	if err := admin.DeleteTopic(ctx, "AdminTopic"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		_, err := admin.TopicRoute(ctx, "AdminTopic")
		return errors.Is(err, client.ErrTopicNotExist)
	}, "deleted topic has no route")
}
