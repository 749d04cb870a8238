package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/remoting"
)

func sampleRoute() *TopicRouteData {
	return &TopicRouteData{
		QueueDatas: []QueueData{{BrokerName: "broker-a", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6}},
		BrokerDatas: []BrokerData{{Cluster: "DefaultCluster", BrokerName: "broker-a",
			BrokerAddrs: map[int64]string{0: "127.0.0.1:10911", 1: "127.0.0.1:10921"}}},
	}
}

// goClientBrokerAddrs mirrors how Apache RocketMQ's Go client reads
// brokerAddrs (internal/route.go): drop the braces, split on ',', split each
// at the first ':', strip quotes, parse the key. The route encoding must
// survive it.
func goClientBrokerAddrs(raw string) map[int64]string {
	out := map[int64]string{}
	raw = raw[1 : len(raw)-1]
	for _, kv := range strings.Split(raw, ",") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			continue
		}
		id, _ := strconv.ParseInt(strings.ReplaceAll(k, `"`, ""), 10, 64)
		out[id] = strings.ReplaceAll(v, `"`, "")
	}
	return out
}

func TestProtocolRouteEncoding(t *testing.T) {
	body := sampleRoute().Encode()
	if bytes.ContainsAny(body, " \n\t") {
		t.Fatalf("route JSON is not compact: %s", body)
	}
	if !json.Valid(body) {
		t.Fatalf("route JSON invalid: %s", body)
	}
	var generic struct {
		QueueDatas  []QueueData `json:"queueDatas"`
		BrokerDatas []struct {
			BrokerAddrs json.RawMessage `json:"brokerAddrs"`
		} `json:"brokerDatas"`
	}
	if err := json.Unmarshal(body, &generic); err != nil {
		t.Fatal(err)
	}
	addrs := goClientBrokerAddrs(string(generic.BrokerDatas[0].BrokerAddrs))
	if !reflect.DeepEqual(addrs, sampleRoute().BrokerDatas[0].BrokerAddrs) {
		t.Fatalf("Go client's parse of brokerAddrs gives %v", addrs)
	}
	back, err := DecodeTopicRouteData(body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, sampleRoute()) {
		t.Fatalf("round trip: %+v", back)
	}
	empty := (&TopicRouteData{}).Encode()
	if !bytes.Contains(empty, []byte(`"queueDatas":[]`)) {
		t.Fatalf("empty route must still carry an array: %s", empty)
	}
}

func TestProtocolRouteDecodesLegacyKeys(t *testing.T) {
	legacy := `{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"b","cluster":"c"}],` +
		`"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":4,"writeQueueNums":4,"topicSysFlag":0}],"orderTopicConf":"x{1:2}"}`
	r, err := DecodeTopicRouteData([]byte(legacy))
	if err != nil {
		t.Fatal(err)
	}
	if r.BrokerDatas[0].BrokerAddrs[1] != "10.0.0.2:10911" || r.OrderTopicConf != "x{1:2}" {
		t.Fatalf("decoded %+v", r)
	}
}

func FuzzProtocolRouteDecode(f *testing.F) {
	f.Add(sampleRoute().Encode())
	f.Add([]byte(`{"brokerDatas":[{"brokerAddrs":{0:"a"}}]}`))
	f.Add([]byte(`{"brokerDatas":[{"brokerAddrs":null}],"queueDatas":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeTopicRouteData(b)
		if err != nil {
			return
		}
		again, err := DecodeTopicRouteData(r.Encode())
		if err != nil {
			t.Fatalf("re-decode of our own encoding: %v", err)
		}
		if len(again.BrokerDatas) != len(r.BrokerDatas) || len(again.QueueDatas) != len(r.QueueDatas) {
			t.Fatalf("round trip changed the route: %+v vs %+v", again, r)
		}
	})
}

func TestProtocolSendHeaderV1AndV2(t *testing.T) {
	h := SendHeader{ProducerGroup: "pg", Topic: "T", DefaultTopic: "TBW102", DefaultTopicQueueNums: 4,
		QueueID: 3, BornTimestamp: 1735200000000, Properties: "TAGS\x01a\x02", MaxReconsumeTimes: 16,
		Batch: true, BrokerName: "broker-a"}
	for _, tc := range []struct {
		code int16
		v2   bool
	}{{SendMessage, false}, {SendMessageV2, true}, {SendBatchMessage, true}, {SendBatchMessage, false}} {
		cmd := remoting.NewRequest(tc.code, h.Fields(tc.v2), nil)
		got, err := ParseSendHeader(cmd)
		if err != nil {
			t.Fatalf("code %d v2=%v: %v", tc.code, tc.v2, err)
		}
		if got != h {
			t.Fatalf("code %d v2=%v: got %+v", tc.code, tc.v2, got)
		}
	}
	bad := remoting.NewRequest(SendMessage, remoting.Fields{{Key: "topic", Value: "T"}, {Key: "queueId", Value: "x"}}, nil)
	_, err := ParseSendHeader(bad)
	ce, ok := err.(*remoting.CodeError)
	if !ok || ce.Code != InvalidParameter || !strings.Contains(ce.Remark, "queueId") {
		t.Fatalf("bad queueId: %v", err)
	}
}

func TestProtocolHeartbeatCodeSet(t *testing.T) {
	// As the Go client writes it (strings) and as Java writes it (numbers).
	for _, body := range []string{
		`{"clientID":"10.0.0.5@1234","producerDataSet":[],"consumerDataSet":[{"groupName":"cg","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","unitMode":false,"subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"a||b","tagsSet":["a","b"],"codeSet":["97","98"],"subVersion":1735200000000000000,"expressionType":"TAG"}]}]}`,
		`{"clientID":"10.0.0.5@1234","consumerDataSet":[{"groupName":"cg","subscriptionDataSet":[{"topic":"T","subString":"a||b","tagsSet":["a","b"],"codeSet":[97,98]}]}]}`,
	} {
		var hb HeartbeatData
		if err := Decode([]byte(body), &hb); err != nil {
			t.Fatal(err)
		}
		sub := hb.ConsumerDataSet[0].SubscriptionDataSet[0]
		if !reflect.DeepEqual(sub.CodeSet, CodeSet{97, 98}) {
			t.Fatalf("codeSet %v", sub.CodeSet)
		}
		var back HeartbeatData
		if err := Decode(Encode(hb), &back); err != nil || !reflect.DeepEqual(back, hb) {
			t.Fatalf("round trip %v: %+v", err, back)
		}
	}
}

func FuzzProtocolHeartbeatDecode(f *testing.F) {
	f.Add([]byte(`{"clientID":"a@1","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":"T","codeSet":["1",2]}]}]}`))
	f.Add([]byte(`{"codeSet":[1e400]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var hb HeartbeatData
		_ = Decode(b, &hb)
	})
}
