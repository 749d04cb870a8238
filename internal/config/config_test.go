package config

import (
	"time"
)

// testConfig exercises every supported field type and tag option.
type testConfig struct {
	Listen     string        `yaml:"listen"`
	NameSrv    []string      `yaml:"namesrv" config:"sep=;"`
	BrokerID   int64         `yaml:"broker_id" config:"nonnegative"`
	QueueNums  int32         `yaml:"queue_nums" config:"positive"`
	Role       string        `yaml:"role" config:"enum=ASYNC_MASTER|SYNC_MASTER|SLAVE"`
	AutoCreate bool          `yaml:"auto_create"`
	Ratio      float64       `yaml:"ratio"`
	Name       string        `yaml:"name"`
	Country    string        `yaml:"country"`
	Interval   time.Duration `yaml:"interval" config:"positive"`
	Idle       time.Duration `yaml:"idle"`
	Store      testStore     `yaml:"store"`
	TLS        struct {
		Mode string `yaml:"mode" config:"enum=disabled|permissive|enforcing"`
	} `yaml:"tls"`
	Labels map[string]string `yaml:"labels"`
	Tags   []string          `yaml:"tags"`
}

type testStore struct {
	SegmentSize   ByteSize      `yaml:"segment_size" config:"positive"`
	FlushInterval time.Duration `yaml:"flush_interval" config:"positive"`
}

func defaultTestConfig() testConfig {
	c := testConfig{
		Listen:    ":10911",
		QueueNums: 8,
		Role:      "ASYNC_MASTER",
		Interval:  30 * time.Second,
		Idle:      2 * time.Minute,
		Ratio:     0.75,
		Store:     testStore{SegmentSize: GiB, FlushInterval: time.Second},
	}
	c.TLS.Mode = "disabled"
	return c
}

// Validate shows how cross-field checks report a key.
func (c *testConfig) Validate() error {
	if c.Role == "SLAVE" && c.BrokerID == 0 {
		return KeyError("broker_id", "role SLAVE needs a broker id > 0")
	}
	return nil
}
