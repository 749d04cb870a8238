// Package remoting implements Apache RocketMQ's remoting protocol: the frame
// codec, a full-duplex multiplexed connection, a TCP server and a client.
//
// # Frame
//
// Every frame on the wire is
//
//	+-----------+-----------+----------------------+------------------+
//	| totalLen  | hdrWord   | header               | body             |
//	| int32 BE  | int32 BE  | hdrLen bytes         | totalLen-4-hdrLen|
//	+-----------+-----------+----------------------+------------------+
//	            | top byte: serialize type (0 JSON, 1 ROCKETMQ)
//	            | low 24 bits: hdrLen
//
// totalLen counts everything after itself and is at most MaxFrameSize
// (16 MiB, Java's limit). The limit is checked before any buffer is
// allocated, and a frame body is read in chunks that grow with the bytes
// that actually arrived, so a peer that announces a large frame and then
// stalls costs little memory until the idle timeout closes it.
//
// # JSON header
//
//	{"code":10,"language":"GO","version":317,"opaque":7,"flag":0,
//	 "remark":"...","extFields":{"topic":"T",...}}
//
// flag bit 0 marks a response, bit 1 a oneway request. A response echoes the
// request's opaque. All extFields values are strings.
//
// # ROCKETMQ (binary) header
//
//	int16 code | int8 language | int16 version | int32 opaque | int32 flag |
//	int32 remarkLen | remark | int32 extLen | { int16 kLen | k | int32 vLen | v }*
//
// The codec decodes both serializations. A reply uses the encoding of its
// request — JSON for Apache RocketMQ's clients, which send JSON, and the
// cheaper binary header for Sluice's client — and requests a server sends
// use its configured type (JSON by default, as Apache RocketMQ). The constants in this
// package are part of the wire format: never change them.
package remoting
