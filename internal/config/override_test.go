package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// testFlags declares flags the way cmd/sluice does: their own storage,
// defaults only for help, Load reads those the user changed.
func testFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("listen", "", "")
	fs.StringP("namesrv", "n", "", "")
	fs.Int64("broker-id", 0, "")
	fs.Int32("queue-nums", 0, "")
	fs.Bool("auto-create", false, "")
	fs.Duration("interval", 0, "")
	var size ByteSize
	fs.Var(&size, "segment-size", "")
	fs.String("store-flush-interval", "", "")
	fs.StringSlice("tags", nil, "")
	fs.String("config", "", "matches no key: ignored")
	return fs
}

var testLoadOptions = LoadOptions{
	EnvPrefix:    "SLUICE_TEST",
	EnvAliases:   map[string][]string{"listen": {"SLUICE_TEST_LISTEN_ALIAS"}},
	EnvFallbacks: map[string][]string{"namesrv": {"TEST_NAMESRV_ADDR"}},
	FlagKeys:     map[string]string{"segment-size": "store.segment_size"},
}

func TestConfigPrecedence(t *testing.T) {
	const file = "listen: file:1\nnamesrv: file:9876\nstore: {segment_size: 1MiB}\n"
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		args  []string
		check func(c testConfig) bool
	}{
		{"default", "", nil, nil, func(c testConfig) bool { return c.Listen == ":10911" && c.NameSrv == nil }},
		{"file over default", file, nil, nil, func(c testConfig) bool { return c.Listen == "file:1" && c.Store.SegmentSize == MiB }},
		{"env over file", file, map[string]string{"SLUICE_TEST_LISTEN": "env:1"}, nil, func(c testConfig) bool { return c.Listen == "env:1" }},
		{"flag over env", file, map[string]string{"SLUICE_TEST_LISTEN": "env:1"}, []string{"--listen", "flag:1"}, func(c testConfig) bool { return c.Listen == "flag:1" }},
		{"prefixed env over alias", file, map[string]string{"SLUICE_TEST_LISTEN": "env:1", "SLUICE_TEST_LISTEN_ALIAS": "alias:1"}, nil, func(c testConfig) bool { return c.Listen == "env:1" }},
		{"alias over file", file, map[string]string{"SLUICE_TEST_LISTEN_ALIAS": "alias:1"}, nil, func(c testConfig) bool { return c.Listen == "alias:1" }},
		{"empty env is unset", file, map[string]string{"SLUICE_TEST_LISTEN": ""}, nil, func(c testConfig) bool { return c.Listen == "file:1" }},
		{"fallback env under file", file, map[string]string{"TEST_NAMESRV_ADDR": "fb:1;fb:2"}, nil, func(c testConfig) bool { return reflect.DeepEqual(c.NameSrv, []string{"file:9876"}) }},
		{"fallback env over default", "", map[string]string{"TEST_NAMESRV_ADDR": "fb:1;fb:2"}, nil, func(c testConfig) bool { return reflect.DeepEqual(c.NameSrv, []string{"fb:1", "fb:2"}) }},
		{"nested env key", file, map[string]string{"SLUICE_TEST_STORE_SEGMENT_SIZE": "2MiB"}, nil, func(c testConfig) bool { return c.Store.SegmentSize == 2*MiB }},
		{"explicit flag key", file, map[string]string{"SLUICE_TEST_STORE_SEGMENT_SIZE": "2MiB"}, []string{"--segment-size=3MiB"}, func(c testConfig) bool { return c.Store.SegmentSize == 3*MiB }},
		{"derived nested flag", file, nil, []string{"--store-flush-interval=250ms"}, func(c testConfig) bool { return c.Store.FlushInterval == 250*time.Millisecond }},
		{"shorthand list flag", file, nil, []string{"-n", "a:1;b:2"}, func(c testConfig) bool { return reflect.DeepEqual(c.NameSrv, []string{"a:1", "b:2"}) }},
		{"typed flags", "", nil, []string{"--broker-id=3", "--queue-nums=4", "--auto-create", "--interval=1m", "--tags=x,y"}, func(c testConfig) bool {
			return c.BrokerID == 3 && c.QueueNums == 4 && c.AutoCreate && c.Interval == time.Minute && reflect.DeepEqual(c.Tags, []string{"x", "y"})
		}},
		{"env list with comma", "", map[string]string{"SLUICE_TEST_TAGS": "p, q"}, nil, func(c testConfig) bool { return reflect.DeepEqual(c.Tags, []string{"p", "q"}) }},
		{"env bool and duration", "", map[string]string{"SLUICE_TEST_AUTO_CREATE": "true", "SLUICE_TEST_IDLE": "0"}, nil, func(c testConfig) bool { return c.AutoCreate && c.Idle == 0 }},
		{"unchanged flag does not override", file, nil, []string{"--broker-id=0"}, func(c testConfig) bool { return c.Listen == "file:1" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"SLUICE_TEST_LISTEN", "SLUICE_TEST_LISTEN_ALIAS", "TEST_NAMESRV_ADDR", "SLUICE_TEST_STORE_SEGMENT_SIZE", "SLUICE_TEST_TAGS"} {
				t.Setenv(k, "")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := testFlags()
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			opts := testLoadOptions
			opts.Flags = fs
			cfg := defaultTestConfig()
			var data []byte
			if tc.file != "" {
				data = []byte(tc.file)
			}
			if err := LoadBytes("p.yml", data, &cfg, opts); err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Errorf("got %+v", cfg)
			}
		})
	}
}

func TestConfigOverrideErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"env int", map[string]string{"SLUICE_TEST_BROKER_ID": "x"}, nil, `SLUICE_TEST_BROKER_ID="x": not an integer`},
		{"env bool", map[string]string{"SLUICE_TEST_AUTO_CREATE": "yes"}, nil, `SLUICE_TEST_AUTO_CREATE="yes": not a boolean`},
		{"env duration", map[string]string{"SLUICE_TEST_INTERVAL": "30"}, nil, `SLUICE_TEST_INTERVAL="30": has no unit`},
		{"env int32", map[string]string{"SLUICE_TEST_QUEUE_NUMS": "99999999999"}, nil, `SLUICE_TEST_QUEUE_NUMS="99999999999": out of range for int32`},
		{"env enum", map[string]string{"SLUICE_TEST_TLS_MODE": "enforcng"}, nil, `SLUICE_TEST_TLS_MODE="enforcng": not one of disabled, permissive, enforcing (did you mean "enforcing"?)`},
		{"fallback env", map[string]string{"TEST_NAMESRV_ADDR": "a;b"}, nil, ""},
		{"flag negative duration", nil, []string{"--interval=-1s"}, `--interval="-1s": must not be negative`},
		{"flag int32 range", nil, []string{"--broker-id=-2"}, `--broker-id="-2": must not be negative`},
		{"validate names env", map[string]string{"SLUICE_TEST_ROLE": "SLAVE"}, nil, `broker_id: role SLAVE needs a broker id > 0`},
		{"validate names flag", map[string]string{"SLUICE_TEST_ROLE": "SLAVE"}, []string{"--broker-id=0"}, `--broker-id="0": broker_id: role SLAVE needs a broker id > 0`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := testFlags()
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			opts := testLoadOptions
			opts.Flags = fs
			cfg := defaultTestConfig()
			err := LoadBytes("", nil, &cfg, opts)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConfigFlagMappingMistakes(t *testing.T) {
	cfg := defaultTestConfig()
	for name, opts := range map[string]LoadOptions{
		"unknown flag":       {Flags: testFlags(), FlagKeys: map[string]string{"nope": "listen"}},
		"unknown key":        {Flags: testFlags(), FlagKeys: map[string]string{"listen": "nope"}},
		"struct key":         {Flags: testFlags(), FlagKeys: map[string]string{"listen": "store"}},
		"two flags, one key": {Flags: testFlags(), FlagKeys: map[string]string{"config": "listen"}},
		"keys without flags": {FlagKeys: map[string]string{"listen": "listen"}},
		"alias unknown key":  {EnvPrefix: "X", EnvAliases: map[string][]string{"nope": {"Y"}}},
		"fallback unknown":   {EnvFallbacks: map[string][]string{"nope": {"Y"}}},
	} {
		if err := LoadBytes("", nil, &cfg, opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
