package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/broker/ha"
	"github.com/sluicehq/sluice/broker/store"
	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// errSlaveNotAvailable answers a SYNC_MASTER send when fewer slaves than it
// waits for are connected and in sync (RocketMQ 4.x's SLAVE_NOT_AVAILABLE):
// failing at once beats stalling every producer for SlaveTimeout.
var errSlaveNotAvailable = errors.New("not enough in-sync slaves")

// openReplication opens the epoch file and the HA side of the broker's
// role. A master starts a new epoch (term) before it takes any write.
func (b *Broker) openReplication() error {
	epochs, err := ha.OpenEpochFile(filepath.Join(b.opts.DataDir, "epoch"))
	if err != nil {
		return err
	}
	b.epochs = epochs
	if !b.isMaster() {
		so := ha.DefaultSlaveOptions()
		so.MasterAddr = func() string { return b.master().haAddr }
		so.Store, so.Epochs, so.BrokerName, so.BrokerID = b.store, epochs, b.opts.BrokerName, b.opts.BrokerID
		so.Logger, so.Now = b.logger.With("ha", "slave"), b.opts.Now
		b.haSlave, err = ha.NewSlave(so)
		return err
	}
	term, err := epochs.StartTerm(b.store.MaxPhysicalOffset())
	if err != nil {
		return fmt.Errorf("start master term: %w", err)
	}
	mo := ha.DefaultMasterOptions()
	mo.Listen = b.haListen()
	mo.Store, mo.Epochs, mo.BrokerName = b.store, epochs, b.opts.BrokerName
	mo.Logger, mo.Now = b.logger.With("ha", "master"), b.opts.Now
	if b.haMaster, err = ha.NewMaster(mo); err != nil {
		return err
	}
	if b.opts.Role == RoleSyncMaster && b.opts.InSyncReplicas <= 1 {
		b.logger.Warn("SYNC_MASTER with in-sync replicas 1 waits for no slave: replication is asynchronous")
	}
	b.logger.Info("master term started", "epoch", term.Epoch, "start_offset", term.StartOffset, "ha_listen", b.haMaster.Addr().String())
	return nil
}

// haListen is the HA listen address: HAListen, else the remoting listen
// address with the port plus one (RocketMQ's default), or any free port
// when the remoting port was chosen by the system (tests).
func (b *Broker) haListen() string {
	if b.opts.HAListen != "" {
		return b.opts.HAListen
	}
	host, port, err := net.SplitHostPort(b.server.Addr().String())
	if err != nil {
		return ":0"
	}
	if _, p, _ := net.SplitHostPort(b.opts.Listen); p == "0" {
		return net.JoinHostPort(host, "0")
	}
	n, _ := strconv.Atoi(port)
	return net.JoinHostPort(host, strconv.Itoa(n+1))
}

// haAddr is the HA address registered with NameServers, where slaves find
// this master: the advertised host with the HA listener's port.
func (b *Broker) haAddr() string {
	if b.haMaster == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(b.addr)
	if err != nil {
		return ""
	}
	_, port, _ := net.SplitHostPort(b.haMaster.Addr().String())
	return net.JoinHostPort(host, port)
}

// runReplication runs the HA master or slave until the broker closes.
func (b *Broker) runReplication() {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-b.done
		cancel()
	}()
	var err error
	switch {
	case b.haMaster != nil:
		err = b.haMaster.Run(ctx)
	case b.haSlave != nil:
		err = b.haSlave.Run(ctx)
	}
	if err != nil && ctx.Err() == nil {
		b.logger.Error("replication stopped", "err", err)
	}
}

// closeReplication stops the HA side.
func (b *Broker) closeReplication() {
	if b.haMaster != nil {
		b.haMaster.Close()
	}
	if b.haSlave != nil {
		b.haSlave.Close()
	}
}

// appended tells the HA master new bytes are in the log, so slaves get
// them without waiting for its poll.
func (b *Broker) appended() {
	if b.haMaster != nil {
		b.haMaster.Notify()
	}
}

// whenSafe calls done once a message stored up to end is as safe as the
// broker's modes promise: fsynced under SYNC_FLUSH and, under SYNC_MASTER,
// acknowledged by InSyncReplicas-1 slaves. Both waits run at once. wait is
// false for messages sent with WAIT=false, which skip both. done must not
// block; its error maps to the reply code (replyOutcome).
func (b *Broker) whenSafe(end int64, wait bool, done func(error)) {
	flush := wait && b.opts.Store.FlushMode == store.FlushSync
	replicate := wait && b.opts.Role == RoleSyncMaster && b.opts.InSyncReplicas > 1
	if !flush && !replicate {
		done(nil)
		return
	}
	j := &joinedWait{pending: 2, done: done}
	if flush {
		b.store.WaitDurable(end, j.flushed)
	} else {
		j.flushed(nil)
	}
	if !replicate {
		j.replicated(nil)
		return
	}
	need := b.opts.InSyncReplicas - 1
	if b.inSyncSlaves() < need {
		j.replicated(errSlaveNotAvailable)
		return
	}
	b.haMaster.WaitReplicated(end, need, b.opts.SlaveTimeout, j.replicated)
}

// joinedWait combines the flush and replication outcomes. A failed fsync
// wins (the message may be lost: the client must retry); then the
// replication outcome (as RocketMQ's FLUSH_SLAVE_TIMEOUT overrides
// FLUSH_DISK_TIMEOUT); then a flush timeout.
type joinedWait struct {
	mu              sync.Mutex
	pending         int
	flushErr, haErr error
	done            func(error)
}

func (j *joinedWait) flushed(err error)    { j.finish(&j.flushErr, err) }
func (j *joinedWait) replicated(err error) { j.finish(&j.haErr, err) }

func (j *joinedWait) finish(slot *error, err error) {
	j.mu.Lock()
	*slot = err
	j.pending--
	last := j.pending == 0
	j.mu.Unlock()
	if !last {
		return
	}
	switch {
	case j.flushErr != nil && !errors.Is(j.flushErr, store.ErrFlushTimeout):
		j.done(j.flushErr)
	case j.haErr != nil:
		j.done(j.haErr)
	default:
		j.done(j.flushErr)
	}
}

// inSyncSlaves counts the slaves connected and in sync.
func (b *Broker) inSyncSlaves() int {
	n := 0
	for _, s := range b.haMaster.Slaves() {
		if s.InSync {
			n++
		}
	}
	return n
}

// replyOutcome turns resp into what the client gets after the durability
// waits: FLUSH_DISK_TIMEOUT (10), SLAVE_NOT_AVAILABLE (11) and
// FLUSH_SLAVE_TIMEOUT (12) say the message is stored but not as safe as the
// mode promises (clients count them as sent); a failed fsync is
// SYSTEM_ERROR so the client retries.
func replyOutcome(resp *remoting.Command, err error) *remoting.Command {
	switch {
	case err == nil:
	case errors.Is(err, store.ErrFlushTimeout):
		resp.Code, resp.Remark = protocol.FlushDiskTimeout, "flush to disk timed out"
	case errors.Is(err, ha.ErrReplicationTimeout):
		resp.Code, resp.Remark = protocol.FlushSlaveTimeout, "no in-sync slave acknowledged the message in time"
	case errors.Is(err, errSlaveNotAvailable):
		resp.Code, resp.Remark = protocol.SlaveNotAvailable, "no in-sync slave: the message is only on the master"
	default:
		resp.Code, resp.Remark, resp.ExtFields = protocol.SystemError, "flush to disk failed: "+err.Error(), nil
	}
	return resp
}

// WaitForReplication waits until slaves distinct slaves have acknowledged
// the CommitLog up to offset (a master only), or ctx ends.
func (b *Broker) WaitForReplication(ctx context.Context, offset int64, slaves int) error {
	if b.haMaster == nil {
		return errors.New("wait for replication: the broker is not a master")
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return errors.New("wait for replication: the context needs a deadline")
	}
	res := make(chan error, 1)
	b.haMaster.WaitReplicated(offset, slaves, time.Until(dl), func(err error) { res <- err })
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// HAAddr is the address this master's slaves replicate from ("" on a slave).
func (b *Broker) HAAddr() string { return b.haAddr() }

// ReplicationStatus is the HA side of a broker: a master's slaves, or a
// slave's connection to its master.
type ReplicationStatus struct {
	// Epoch is the newest epoch in the broker's epoch file.
	Epoch int64
	// Slaves are a master's connected slaves.
	Slaves []ha.SlaveStatus
	// Slave is a slave's replication state (nil on a master).
	Slave *ha.SlaveState
}

// Replication returns the broker's replication status.
func (b *Broker) Replication() ReplicationStatus {
	var st ReplicationStatus
	if e, ok := b.epochs.Last(); ok {
		st.Epoch = e.Epoch
	}
	if b.haMaster != nil {
		st.Slaves = b.haMaster.Slaves()
	}
	if b.haSlave != nil {
		s := b.haSlave.Status()
		st.Slave = &s
	}
	return st
}

// handleRuntimeInfo serves GET_BROKER_RUNTIME_INFO (28): a KVTable (as
// Apache RocketMQ's) with the log's offsets, the broker's role and epoch,
// and replication: per slave its acknowledged offset and lag on a master,
// the master's and its own offsets on a slave. Lag in messages is an
// estimate from the average stored record size.
func (b *Broker) handleRuntimeInfo(c *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	st := b.Replication()
	stats := b.store.Stats()
	t := map[string]string{
		"brokerRole":         string(b.opts.Role),
		"brokerId":           itoa(b.opts.BrokerID),
		"epoch":              itoa(st.Epoch),
		"commitLogMinOffset": itoa(b.store.MinPhysicalOffset()),
		"commitLogMaxOffset": itoa(b.store.MaxPhysicalOffset()),
		"flushedOffset":      itoa(b.store.FlushedOffset()),
		"metadataVersion":    b.metadataVersion(),
	}
	avg := int64(0)
	if stats.PutMessages > 0 {
		avg = int64(stats.PutBytes / stats.PutMessages)
	}
	for _, s := range st.Slaves {
		k := "slave." + itoa(s.BrokerID) + "."
		t[k+"addr"], t[k+"ackedOffset"], t[k+"lagBytes"] = s.RemoteAddr, itoa(s.AckedOffset), itoa(s.LagBytes)
		t[k+"inSync"] = strconv.FormatBool(s.InSync)
		if avg > 0 {
			t[k+"lagMessagesEstimate"] = itoa(s.LagBytes / avg)
		}
	}
	if s := st.Slave; s != nil {
		t["masterAddr"], t["haMasterAddr"] = b.master().addr, s.MasterAddr
		t["haConnected"] = strconv.FormatBool(s.Connected)
		t["haMasterOffset"], t["haLagBytes"] = itoa(s.MasterOffset), itoa(max(s.MasterOffset-s.Offset, 0))
	}
	resp := req.NewResponse(protocol.Success, "")
	resp.Body = protocol.Encode(struct {
		Table map[string]string `json:"table"`
	}{t})
	return resp, nil
}

// logReplication logs each slave's offset and lag (master) or the lag
// behind the master (slave), for operators without a metrics scraper.
func (b *Broker) logReplication() {
	st := b.Replication()
	if b.opts.Role == RoleSyncMaster && b.opts.InSyncReplicas > 1 {
		if n, need := b.inSyncSlaves(), b.opts.InSyncReplicas-1; n < need {
			b.logger.Warn("SYNC_MASTER has too few in-sync slaves: sends are stored on the master only and answer SLAVE_NOT_AVAILABLE",
				"in_sync_slaves", n, "needed", need, "connected_slaves", len(st.Slaves))
		}
	}
	for _, s := range st.Slaves {
		b.logger.Info("slave replication", "slave_id", s.BrokerID, "slave_addr", s.RemoteAddr,
			"acked_offset", s.AckedOffset, "lag_bytes", s.LagBytes, "in_sync", s.InSync, "epoch", s.Epoch)
	}
	if s := st.Slave; s != nil {
		b.logger.Info("replication from master", "master_ha", s.MasterAddr, "connected", s.Connected,
			"offset", s.Offset, "master_offset", s.MasterOffset, "lag_bytes", max(s.MasterOffset-s.Offset, 0), "epoch", s.Epoch)
	}
}
