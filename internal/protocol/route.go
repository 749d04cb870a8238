package protocol

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// QueueData is one broker set's queues of a topic.
type QueueData struct {
	BrokerName     string `json:"brokerName"`
	ReadQueueNums  int32  `json:"readQueueNums"`
	WriteQueueNums int32  `json:"writeQueueNums"`
	Perm           int32  `json:"perm"`
	TopicSysFlag   int32  `json:"topicSysFlag"`
}

// BrokerData is a broker set: its name, cluster and the address of each
// member by broker id (0 is the master).
type BrokerData struct {
	Cluster     string           `json:"cluster"`
	BrokerName  string           `json:"brokerName"`
	BrokerAddrs map[int64]string `json:"brokerAddrs"`
}

// MasterAddr returns the master's address, or "".
func (b *BrokerData) MasterAddr() string { return b.BrokerAddrs[MasterID] }

// TopicRouteData is the body of a GET_ROUTEINFO_BY_TOPIC reply.
type TopicRouteData struct {
	OrderTopicConf string       `json:"orderTopicConf,omitempty"`
	QueueDatas     []QueueData  `json:"queueDatas"`
	BrokerDatas    []BrokerData `json:"brokerDatas"`
}

// Encode writes the route exactly as Apache RocketMQ's Go client can parse
// it: compact JSON, "queueDatas" always an array, "brokerAddrs" always an
// object with the ids as keys (the client cuts that object apart by string
// surgery and panics on null), and "orderTopicConf" null.
func (r *TopicRouteData) Encode() []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"orderTopicConf":null,"queueDatas":[`...)
	for i, q := range r.QueueDatas {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"brokerName":`...)
		b = appendQuoted(b, q.BrokerName)
		b = append(b, `,"readQueueNums":`...)
		b = strconv.AppendInt(b, int64(q.ReadQueueNums), 10)
		b = append(b, `,"writeQueueNums":`...)
		b = strconv.AppendInt(b, int64(q.WriteQueueNums), 10)
		b = append(b, `,"perm":`...)
		b = strconv.AppendInt(b, int64(q.Perm), 10)
		b = append(b, `,"topicSysFlag":`...)
		b = strconv.AppendInt(b, int64(q.TopicSysFlag), 10)
		b = append(b, '}')
	}
	b = append(b, `],"brokerDatas":[`...)
	for i := range r.BrokerDatas {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendBrokerData(b, &r.BrokerDatas[i])
	}
	return append(b, `],"filterServerTable":{}}`...)
}

func appendBrokerData(b []byte, bd *BrokerData) []byte {
	b = append(b, `{"cluster":`...)
	b = appendQuoted(b, bd.Cluster)
	b = append(b, `,"brokerName":`...)
	b = appendQuoted(b, bd.BrokerName)
	b = append(b, `,"brokerAddrs":{`...)
	ids := make([]int64, 0, len(bd.BrokerAddrs))
	for id := range bd.BrokerAddrs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = strconv.AppendInt(b, id, 10)
		b = append(b, `":`...)
		b = appendQuoted(b, bd.BrokerAddrs[id])
	}
	return append(b, `}}`...)
}

// appendQuoted appends s as a JSON string using encoding/json's escaping
// (names and addresses are plain, this is for safety, not speed).
func appendQuoted(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// DecodeTopicRouteData parses a route body as Sluice's or Apache RocketMQ's
// NameServer writes it, including the legacy form with unquoted numeric keys
// in brokerAddrs ({0:"addr"}).
func DecodeTopicRouteData(body []byte) (*TopicRouteData, error) {
	var raw struct {
		OrderTopicConf *string `json:"orderTopicConf"`
		QueueDatas     []QueueData
		BrokerDatas    []struct {
			Cluster     string          `json:"cluster"`
			BrokerName  string          `json:"brokerName"`
			BrokerAddrs json.RawMessage `json:"brokerAddrs"`
		} `json:"brokerDatas"`
	}
	if err := json.Unmarshal(quoteLegacyKeys(body), &raw); err != nil {
		return nil, fmt.Errorf("decode route: %w", err)
	}
	r := &TopicRouteData{QueueDatas: raw.QueueDatas}
	if raw.OrderTopicConf != nil {
		r.OrderTopicConf = *raw.OrderTopicConf
	}
	for _, bd := range raw.BrokerDatas {
		addrs := map[string]string{}
		if len(bd.BrokerAddrs) > 0 && string(bd.BrokerAddrs) != "null" {
			if err := json.Unmarshal(bd.BrokerAddrs, &addrs); err != nil {
				return nil, fmt.Errorf("decode route brokerAddrs of %s: %w", bd.BrokerName, err)
			}
		}
		out := BrokerData{Cluster: bd.Cluster, BrokerName: bd.BrokerName, BrokerAddrs: make(map[int64]string, len(addrs))}
		for k, v := range addrs {
			id, err := strconv.ParseInt(k, 10, 64)
			if err != nil || id < 0 {
				return nil, fmt.Errorf("decode route: broker id %q of %s is not a non-negative integer", k, bd.BrokerName)
			}
			out.BrokerAddrs[id] = v
		}
		r.BrokerDatas = append(r.BrokerDatas, out)
	}
	return r, nil
}

// quoteLegacyKeys turns fastjson's unquoted numeric object keys ({0:"a"})
// into quoted ones, leaving string contents untouched.
func quoteLegacyKeys(b []byte) []byte {
	if !strings.ContainsAny(string(b), "{,") {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		out = append(out, c)
		switch {
		case inStr && esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == ','):
			j := i + 1
			for j < len(b) && b[j] == ' ' {
				j++
			}
			k := j
			for k < len(b) && (b[k] == '-' || (b[k] >= '0' && b[k] <= '9')) {
				k++
			}
			if k > j && k < len(b) && b[k] == ':' {
				out = append(out, b[i+1:j]...)
				out = append(out, '"')
				out = append(out, b[j:k]...)
				out = append(out, '"')
				i = k - 1
			}
		}
	}
	return out
}
