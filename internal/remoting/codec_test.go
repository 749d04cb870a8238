package remoting

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

func sampleCommand() *Command {
	return &Command{
		Code: 10, Language: LangGo, Version: 317, Opaque: 42, Flag: 0,
		Remark: "hé \"quoted\" \n\x01",
		ExtFields: Fields{
			{"topic", "TopicTest"}, {"queueId", "3"}, {"properties", "KEYS\x01k1 k2\x02TAGS\x01a\x02"},
			{"empty", ""},
		},
		Body: []byte("hello body"),
	}
}

func TestRemotingCodecRoundTrip(t *testing.T) {
	for _, st := range []SerializeType{SerializeJSON, SerializeRocketMQ} {
		in := sampleCommand()
		frame, err := AppendFrame(nil, in, st)
		if err != nil {
			t.Fatal(err)
		}
		if got := int(binary.BigEndian.Uint32(frame)); got != len(frame)-4 {
			t.Fatalf("st=%d: totalLen %d, frame has %d bytes after it", st, got, len(frame)-4)
		}
		out, err := ReadFrame(bytes.NewReader(frame))
		if err != nil {
			t.Fatalf("st=%d: %v", st, err)
		}
		if out.Code != in.Code || out.Language != in.Language || out.Version != in.Version ||
			out.Opaque != in.Opaque || out.Flag != in.Flag || out.Remark != in.Remark ||
			!bytes.Equal(out.Body, in.Body) || out.Serialize != st {
			t.Fatalf("st=%d: round trip changed the command:\n in %v\nout %v", st, in, out)
		}
		for _, f := range in.ExtFields {
			if v, ok := out.ExtFields.Get(f.Key); !ok || v != f.Value {
				t.Fatalf("st=%d: ext %q = %q, %v; want %q", st, f.Key, v, ok, f.Value)
			}
		}
	}
}

// TestRemotingJSONHeaderIsValidJSON checks the encoder against encoding/json,
// including strings that need escaping and invalid UTF-8.
func TestRemotingJSONHeaderIsValidJSON(t *testing.T) {
	c := sampleCommand()
	c.ExtFields = append(c.ExtFields, Field{"bad\xffutf8", "\x00\x1f\\/"})
	frame, err := AppendFrame(nil, c, SerializeJSON)
	if err != nil {
		t.Fatal(err)
	}
	hdrLen := int(binary.BigEndian.Uint32(frame[4:]) & 0xFFFFFF)
	var parsed struct {
		Code      int16             `json:"code"`
		Language  string            `json:"language"`
		Opaque    int32             `json:"opaque"`
		Remark    string            `json:"remark"`
		ExtFields map[string]string `json:"extFields"`
	}
	if err := json.Unmarshal(frame[8:8+hdrLen], &parsed); err != nil {
		t.Fatalf("header is not JSON: %v\n%s", err, frame[8:8+hdrLen])
	}
	if parsed.Code != 10 || parsed.Language != "GO" || parsed.Opaque != 42 || parsed.Remark != c.Remark {
		t.Fatalf("parsed %+v", parsed)
	}
	if parsed.ExtFields["bad\ufffdutf8"] != "\x00\x1f\\/" {
		t.Fatalf("ext fields %q", parsed.ExtFields)
	}
}

func jsonFrame(header string, body string) []byte {
	frame := binary.BigEndian.AppendUint32(nil, uint32(4+len(header)+len(body)))
	frame = binary.BigEndian.AppendUint32(frame, uint32(len(header)))
	frame = append(frame, header...)
	return append(frame, body...)
}

// TestRemotingDecodesPeerHeaders feeds headers as Apache RocketMQ's Java
// broker and the Go client write them.
func TestRemotingDecodesPeerHeaders(t *testing.T) {
	java := `{"code":0,"extFields":{"msgId":"7F00000100002A9F0000000000000000","queueId":"1","queueOffset":"0"},` +
		`"flag":1,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":453}`
	goClient := `{"code":105,"language":"GO","version":317,"opaque":3,"flag":0,"remark":"","extFields":{"topic":"TBW102"}}`
	cases := []struct {
		header string
		check  func(*Command) bool
	}{
		{java, func(c *Command) bool {
			return c.Code == 0 && c.IsResponse() && c.Language == LangJava && c.Opaque == 7 &&
				c.ExtFields.Value("queueId") == "1" && c.Version == 453
		}},
		{goClient, func(c *Command) bool {
			return c.Code == 105 && !c.IsResponse() && c.Language == LangGo && c.ExtFields.Value("topic") == "TBW102"
		}},
		{`{"code":1,"remark":null,"extFields":null,"unknown":{"a":[1,2,{"b":null}],"c":true}}`, func(c *Command) bool {
			return c.Code == 1 && c.Remark == "" && len(c.ExtFields) == 0
		}},
		{`{"code":2,"extFields":{"a":"1","a":"2","n":17,"b":true,"z":null},"remark":"\u00e9\ud83d\ude00\/"}`, func(c *Command) bool {
			return c.ExtFields.Value("a") == "2" && c.ExtFields.Value("n") == "17" && c.ExtFields.Value("b") == "true" &&
				c.Remark == "é😀/"
		}},
	}
	for i, tc := range cases {
		cmd, err := ReadFrame(bytes.NewReader(jsonFrame(tc.header, "xy")))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !tc.check(cmd) || string(cmd.Body) != "xy" {
			t.Fatalf("case %d: decoded %v", i, cmd)
		}
	}
}

func TestRemotingRejectsBadFrames(t *testing.T) {
	deep := `{"code":1,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`
	many := `{"code":1,"extFields":{` + strings.Repeat(`"k":"v",`, MaxExtFields) + `"k":"v"}}`
	headers := []string{
		`{"code":40000}`, // outside int16
		`{"code":1e400}`, // not an integer
		`{"code":"x"}`,   // not a number
		`{"opaque":1}`,   // no code
		`{"code":1,"extFields":{"a":[1]}}`,
		`{"code":1}trailing`,
		`{"code":1,`,
		`["code",1]`,
		deep,
		many,
		"{\"code\":1,\"remark\":\"a\x01b\"}", // raw control character
	}
	for _, h := range headers {
		if _, err := ReadFrame(bytes.NewReader(jsonFrame(h, ""))); !errors.Is(err, ErrFrame) {
			t.Errorf("header %.60q: err = %v, want ErrFrame", h, err)
		}
	}
	frames := map[string][]byte{
		"length 0":          {0, 0, 0, 0},
		"length 3":          {0, 0, 0, 3, 0, 0, 0},
		"negative length":   {0xFF, 0xFF, 0xFF, 0xFF},
		"over 16 MiB":       binary.BigEndian.AppendUint32(nil, MaxFrameSize+1),
		"header > frame":    {0, 0, 0, 8, 0, 0, 0, 9, 1, 2, 3, 4},
		"serialize type 7":  {0, 0, 0, 6, 7, 0, 0, 2, '{', '}'},
		"binary too short":  {0, 0, 0, 6, 1, 0, 0, 2, 0, 1},
		"binary remark len": append([]byte{0, 0, 0, 25, 1, 0, 0, 21}, make17(0xFF)...),
	}
	for name, f := range frames {
		if _, err := ReadFrame(bytes.NewReader(f)); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: err = %v, want ErrFrame", name, err)
		}
	}
}

// make17 returns a 21-byte binary header whose remark length byte is v.
func make17(v byte) []byte {
	h := make([]byte, 21)
	h[13] = v
	return h
}

// TestRemotingHugeLengthAllocatesLazily announces a 16 MiB frame and sends
// 10 bytes: the reader must fail on EOF having allocated far less than the
// announced size.
func TestRemotingHugeLengthAllocatesLazily(t *testing.T) {
	f := binary.BigEndian.AppendUint32(nil, MaxFrameSize)
	f = append(f, make([]byte, 10)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := ReadFrame(bytes.NewReader(f)); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	if perRead := (after.TotalAlloc - before.TotalAlloc) / 10; perRead > 4*readChunk {
		t.Fatalf("allocated %d bytes per truncated read of an announced %d", perRead, MaxFrameSize)
	}
}

func FuzzRemotingDecodeFrame(f *testing.F) {
	for _, st := range []SerializeType{SerializeJSON, SerializeRocketMQ} {
		frame, _ := AppendFrame(nil, sampleCommand(), st)
		f.Add(frame[4:])
		f.Add(frame[4 : len(frame)/2])
	}
	f.Add(jsonFrame(`{"code":1,"extFields":{"a":"\ud800"}}`, "")[4:])
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, frame []byte) {
		cmd, err := DecodeFrame(frame)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("non-frame error %v", err)
			}
			return
		}
		// Whatever decodes must re-encode and decode to the same command.
		for _, st := range []SerializeType{SerializeJSON, SerializeRocketMQ} {
			again, err := AppendFrame(nil, cmd, st)
			if err != nil {
				return // a body at the frame limit plus a larger header
			}
			back, err := DecodeFrame(again[4:])
			if err != nil {
				t.Fatalf("re-decode st=%d: %v", st, err)
			}
			if back.Code != cmd.Code || back.Opaque != cmd.Opaque || back.Flag != cmd.Flag ||
				!bytes.Equal(back.Body, cmd.Body) || len(back.ExtFields) != len(cmd.ExtFields) {
				t.Fatalf("st=%d: re-decoded %v, want %v", st, back, cmd)
			}
		}
	})
}

func BenchmarkRemotingDecodeSendHeader(b *testing.B) {
	for _, st := range []SerializeType{SerializeJSON, SerializeRocketMQ} {
		cmd := NewRequest(10, Fields{
			{"producerGroup", "pg"}, {"topic", "TopicTest"}, {"defaultTopic", "TBW102"},
			{"defaultTopicQueueNums", "4"}, {"queueId", "3"}, {"sysFlag", "0"},
			{"bornTimestamp", "1735200000000"}, {"flag", "0"},
			{"properties", "UNIQ_KEY\x017F0000010001000000000000000000\x02WAIT\x01true\x02TAGS\x01a\x02"},
			{"reconsumeTimes", "0"}, {"unitMode", "false"}, {"maxReconsumeTimes", "16"},
			{"batch", "false"}, {"bname", "broker-a"},
		}, make([]byte, 1024))
		frame, _ := AppendFrame(nil, cmd, st)
		name := map[SerializeType]string{SerializeJSON: "json", SerializeRocketMQ: "rocketmq"}[st]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if _, err := DecodeFrame(frame[4:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzRemotingReadFrameSplit feeds frames through a reader that returns
// them a byte or a few bytes at a time: framing must not depend on how TCP
// cuts the stream.
func FuzzRemotingReadFrameSplit(f *testing.F) {
	for _, st := range []SerializeType{SerializeJSON, SerializeRocketMQ} {
		frame, _ := AppendFrame(nil, sampleCommand(), st)
		f.Add(frame, uint8(1))
		f.Add(frame, uint8(7))
	}
	f.Add(binary.BigEndian.AppendUint32(nil, MaxFrameSize), uint8(3))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		whole, errWhole := ReadFrame(bytes.NewReader(stream))
		split, errSplit := ReadFrame(&chunkReader{b: stream, n: int(chunk%16) + 1})
		if (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("whole read err %v, split read err %v", errWhole, errSplit)
		}
		if errWhole == nil && (whole.Code != split.Code || whole.Opaque != split.Opaque || !bytes.Equal(whole.Body, split.Body)) {
			t.Fatalf("split read decoded %v, whole %v", split, whole)
		}
	})
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.b))
	copy(p, r.b[:k])
	r.b = r.b[k:]
	return k, nil
}
