package namesrv

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// FuzzNameServerRegisterBody feeds arbitrary bytes to the REGISTER_BROKER
// handler as the body of an otherwise valid request. It must never panic,
// a rejected body must register nothing, and an accepted one must yield
// routes that encode to JSON both Sluice and the Go client parse.
func FuzzNameServerRegisterBody(f *testing.F) {
	valid := with(netMaster, "TopicTest", "%RETRY%cg").body()
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte{})
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"topicConfigSerializeWrapper":{"topicConfigTable":{"T":null,"":{"topicName":""}}}}`))
	f.Add([]byte(`{"topicConfigSerializeWrapper":{"topicConfigTable":{"k":{"topicName":"a\",\"b:{}","readQueueNums":-1,"writeQueueNums":2147483647,"perm":-8}}}}`))
	f.Add([]byte(`{"topicConfigSerializeWrapper":{"topicConfigTable":{"T":{"topicName":"T\u0000\ud800","perm":7}},"dataVersion":{"counter":-1,"timestamp":9223372036854775807}},"filterServerList":null}`))
	f.Add([]byte(`{"topicConfigSerializeWrapper":{"dataVersion":{"counter":1e400}}}`))
	f.Add([]byte(`[{"topicConfigSerializeWrapper":1}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		opts := NewOptions()
		ns := newNameServer(opts)
		req := goRequest(protocol.RegisterBroker, netMaster.header().Fields(), body)
		resp, err := ns.handleRegister(nil, req)
		if err != nil {
			var ce *remoting.CodeError
			if !errors.As(err, &ce) || ce.Code == protocol.Success {
				t.Fatalf("rejection without a wire code: %v", err)
			}
			if s := ns.Stats(); s.BrokersLive != 0 || s.Topics != 0 {
				t.Fatalf("rejected body left state behind: %+v", s)
			}
			return
		}
		if resp == nil || resp.Code != protocol.Success {
			t.Fatalf("accepted without a success reply: %v", resp)
		}
		for _, topic := range ns.table.Topics() {
			checkRouteRoundTrip(t, ns.table, topic)
		}
	})
}

// checkRouteRoundTrip checks that topic's route encodes to valid JSON that
// decodes back to the same route and survives the Go client's brokerAddrs
// parsing.
func checkRouteRoundTrip(t *testing.T, rt *RouteTable, topic string) {
	t.Helper()
	route, ok := rt.Route(topic)
	if !ok {
		t.Fatalf("listed topic %q has no route", topic)
	}
	enc := route.Encode()
	if !json.Valid(enc) {
		t.Fatalf("route of %q is not JSON: %s", topic, enc)
	}
	back, err := protocol.DecodeTopicRouteData(enc)
	if err != nil {
		t.Fatalf("route of %q does not decode: %v\n%s", topic, err, enc)
	}
	if !reflect.DeepEqual(back.BrokerDatas, route.BrokerDatas) || !reflect.DeepEqual(back.QueueDatas, route.QueueDatas) {
		t.Fatalf("route of %q changed in a round trip:\n%+v\n%+v", topic, route, back)
	}
	var view goClientView
	if err := json.Unmarshal(enc, &view); err != nil {
		t.Fatal(err)
	}
	for i, bd := range view.BrokerDatas {
		if got := goClientBrokerAddrs(string(bd.BrokerAddrs)); !reflect.DeepEqual(got, route.BrokerDatas[i].BrokerAddrs) {
			t.Fatalf("Go client reads brokerAddrs %s as %v", bd.BrokerAddrs, got)
		}
	}
}
