package namesrv

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNameServerOptionsDefaults(t *testing.T) {
	o := NewOptions()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.Listen != ":9876" || o.BrokerExpiry != 120*time.Second || o.ScanInterval != 5*time.Second ||
		o.IdleTimeout != 120*time.Second || o.Now == nil {
		t.Fatalf("defaults %+v", o)
	}
}

func TestNameServerOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"empty listen", func(o *Options) { o.Listen = "" }, "listen address is empty"},
		{"zero scan", func(o *Options) { o.ScanInterval = 0 }, "scan interval 0s must be positive"},
		{"negative scan", func(o *Options) { o.ScanInterval = -time.Second }, "scan interval -1s must be positive"},
		{"zero expiry", func(o *Options) { o.BrokerExpiry = 0 }, "broker expiry 0s must be positive"},
		{"expiry below scan", func(o *Options) { o.BrokerExpiry = time.Second }, "broker expiry 1s is shorter than the scan interval 5s"},
		{"negative idle", func(o *Options) { o.IdleTimeout = -1 }, "idle timeout -1ns is negative"},
		{"cap below expiry", func(o *Options) { o.MaxHeartbeatTimeout = time.Minute }, "max heartbeat timeout 1m0s is shorter"},
		{"no clock", func(o *Options) { o.Now = nil }, "clock (Now) is nil"},
	} {
		o := NewOptions()
		tc.change(&o)
		err := o.Validate()
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
		if _, err := New(o); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: New accepted invalid options: %v", tc.name, err)
		}
	}
}
