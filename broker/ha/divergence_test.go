package ha

import "testing"

func TestHADivergencePoint(t *testing.T) {
	type es = []EpochEntry
	for _, c := range []struct {
		name           string
		master         es
		masterEnd      int64
		slave          es
		slaveEnd, want int64
	}{
		{"identical logs", es{{1, 0}, {2, 100}}, 200, es{{1, 0}, {2, 100}}, 200, 200},
		{"slave behind in the same epoch", es{{1, 0}, {2, 100}}, 200, es{{1, 0}, {2, 100}}, 150, 150},
		{"slave behind by an epoch", es{{1, 0}, {2, 100}}, 200, es{{1, 0}}, 80, 80},
		{"slave ahead in the same epoch (master lost its tail)", es{{1, 0}}, 100, es{{1, 0}}, 180, 100},
		{"master lost its tail and started a new term", es{{1, 0}, {2, 100}}, 300, es{{1, 0}}, 180, 100},
		{"slave has an epoch the master never had", es{{1, 0}, {3, 150}}, 400, es{{1, 0}, {2, 100}}, 200, 100},
		{"slave's own epoch started after the master's next term", es{{1, 0}, {3, 100}}, 400, es{{1, 0}, {2, 120}}, 200, 100},
		{"same epoch number, other start: not common", es{{1, 0}, {2, 70}}, 300, es{{1, 0}, {2, 50}}, 300, 50},
		{"stale slave entry beyond its log end", es{{1, 0}, {3, 400}}, 600, es{{1, 0}, {2, 500}}, 300, 300},
		{"empty slave", es{{1, 0}}, 500, nil, 0, 0},
		{"slave log without epochs", es{{1, 0}}, 500, nil, 300, 0},
		{"empty master", es{{1, 0}}, 0, es{{1, 0}}, 100, 0},
		{"master without entries", nil, 0, es{{1, 0}}, 100, 0},
		{"no common epoch", es{{4, 1000}}, 2000, es{{1, 0}, {2, 10}}, 500, 0},
		{"master started late (pre-term data)", es{{1, 5000}}, 9000, es{{1, 5000}}, 7000, 7000},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := DivergencePoint(c.master, c.masterEnd, c.slave, c.slaveEnd); got != c.want {
				t.Fatalf("DivergencePoint = %d, want %d", got, c.want)
			}
		})
	}
}

func TestHAPlanResume(t *testing.T) {
	const seg = 1000
	for _, c := range []struct {
		name                       string
		point, masterMin, slaveMin int64
		action                     resumeAction
		start                      int64
	}{
		{"truncate", 1500, 0, 0, actionTruncate, 1500},
		{"master deleted what the slave needs", 1500, 3000, 0, actionReset, 3000},
		{"full resync, master log starts late", 0, 3000, 0, actionReset, 3000},
		{"full resync from 0", 0, 0, 0, actionTruncate, 0},
		{"slave deleted below the point", 2500, 1000, 3000, actionReset, 2000},
		{"empty reset slave, nothing common", 0, 0, 5000, actionReset, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, s := planResume(c.point, c.masterMin, c.slaveMin, seg)
			if a != c.action || s != c.start {
				t.Fatalf("planResume = %d, %d; want %d, %d", a, s, c.action, c.start)
			}
		})
	}
}
