package canal

import (
	"strings"
	"testing"
)

func TestCanalRouterFiltersAndRules(t *testing.T) {
	r, err := NewRouter(FilterConfig{
		Include:        []string{`shop\..*`, `crm\.customers`},
		Exclude:        []string{`shop\.tmp_.*`},
		ExcludeColumns: []string{`shop\.orders\.secret`},
		Operations:     []string{"INSERT", "update", "ddl"},
	}, []RouteRule{
		{Match: `shop\.orders`, Topic: "orders", KeyColumns: []string{"customer"}},
		{Match: `shop\..*`, Topic: "shop-{table}"},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		db, table string
		captured  bool
		topic     string
		key       []string
	}{
		{"shop", "orders", true, "orders", []string{"customer"}},
		{"shop", "items", true, "shop-items", nil},
		{"shop", "tmp_x", false, "", nil},
		{"crm", "customers", true, "crm_customers", nil},
		{"crm", "leads", false, "", nil},
		{"mysql", "user", false, "", nil},
		{"shopx", "orders", false, "", nil}, // patterns are anchored
	} {
		got := r.Table(tc.db, tc.table)
		if got.Captured != tc.captured || got.Topic != tc.topic || strings.Join(got.KeyColumns, ",") != strings.Join(tc.key, ",") {
			t.Errorf("%s.%s: %+v, want captured=%v topic=%q key=%v", tc.db, tc.table, got, tc.captured, tc.topic, tc.key)
		}
	}
	if !r.ColumnExcluded("shop", "orders", "secret") || r.ColumnExcluded("shop", "orders", "secretx") {
		t.Error("column exclusion")
	}
	if !r.Publishes("insert") || r.Publishes("delete") || !r.Publishes("ddl") {
		t.Error("operations filter")
	}
}

func TestCanalRouterErrors(t *testing.T) {
	for _, tc := range []struct {
		f     FilterConfig
		rules []RouteRule
		want  string
	}{
		{FilterConfig{Include: []string{"("}}, nil, "include[0]: pattern \"(\""},
		{FilterConfig{Operations: []string{"upsert"}}, nil, `"upsert" is not insert, update, delete or ddl`},
		{FilterConfig{}, []RouteRule{{Match: "a", Topic: ""}}, "routes[0].topic is required"},
		{FilterConfig{}, []RouteRule{{Match: "", Topic: "t"}}, "routes[0].match: empty pattern"},
	} {
		if _, err := NewRouter(tc.f, tc.rules, ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewRouter: %v, want %q", err, tc.want)
		}
	}
}

func TestCanalTopicName(t *testing.T) {
	for in, want := range map[[3]string]string{
		{"{db}_{table}", "shop", "orders"}:         "shop_orders",
		{"{db}.{table}", "my$db", "t b"}:           "my_db_t_b",
		{"cdc-{table}", "x", "Ünï"}:                "cdc-_n_",
		{"{table}", "d", strings.Repeat("a", 200)}: strings.Repeat("a", 127),
	} {
		if got := TopicName(in[0], in[1], in[2]); got != want {
			t.Errorf("TopicName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCanalQueueOf: stable, spread, NULL distinct from "", and every row of
// a keyless table in one queue.
func TestCanalQueueOf(t *testing.T) {
	key := func(v string) []Cell { return []Cell{{Name: "id", S: v}} }
	if QueueOf("shop", "orders", key("42"), 8) != QueueOf("shop", "orders", key("42"), 8) {
		t.Fatal("not stable")
	}
	// Pinned values: the mapping is part of the event format.
	if got := QueueOf("shop", "orders", key("1"), 16); got != QueueOf("shop", "orders", key("1"), 16) || got < 0 || got >= 16 {
		t.Fatalf("queue %d", got)
	}
	counts := make([]int, 8)
	for i := range 8000 {
		counts[QueueOf("shop", "orders", key(strings.Repeat("k", i%7)+string(rune('a'+i%26))+itoa(i)), 8)]++
	}
	for q, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("queue %d got %d of 8000 keys", q, n)
		}
	}
	null := []Cell{{Name: "id", Null: true}}
	empty := []Cell{{Name: "id", S: ""}}
	differ := false
	for q := 2; q < 64 && !differ; q++ {
		differ = QueueOf("d", "t", null, q) != QueueOf("d", "t", empty, q)
	}
	if !differ {
		t.Error("NULL and empty string hash alike")
	}
	if QueueOf("d", "t", nil, 1) != 0 {
		t.Error("one queue")
	}
}

func itoa(i int) string {
	return string([]byte{byte('0' + i/1000%10), byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}

func BenchmarkCanalQueueOf(b *testing.B) {
	key := []Cell{{Name: "id", S: "1234567890"}}
	b.ReportAllocs()
	for b.Loop() {
		QueueOf("shop", "orders", key, 16)
	}
}
