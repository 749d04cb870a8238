package remoting

// Response codes the transport itself produces. The full table lives in
// internal/protocol; these equal its values. Part of the wire format.
const (
	codeSuccess      int16 = 0
	codeSystemError  int16 = 1
	codeNotSupported int16 = 3
)

// HandlerFunc serves one request. It returns the response to send, an error
// (a *CodeError keeps its code, anything else becomes SYSTEM_ERROR), or
// (nil, nil) when it will reply later with Conn.Reply — or never, for
// requests that take no reply.
type HandlerFunc func(c *Conn, req *Command) (*Command, error)

type route struct {
	h      HandlerFunc
	inline bool
	batch  *batchRoute
}

// BatchHandlerFunc serves a run of requests that arrived back to back on one
// connection, in arrival order. It must reply to each (Conn.Reply), now or
// later, and must not block.
type BatchHandlerFunc func(c *Conn, reqs []*Command)

type batchRoute struct {
	h BatchHandlerFunc
}

// Mux maps request codes to handlers: one dispatch table per daemon.
// Register handlers before the first connection is served; the table is read
// without locks afterwards.
type Mux struct {
	routes map[int16]route
}

// NewMux returns an empty dispatch table.
func NewMux() *Mux { return &Mux{routes: make(map[int16]route)} }

// Handle registers h for code. It runs on its own goroutine, so a slow
// request (a held pull, a disk read) never delays the next request on the
// same connection.
func (m *Mux) Handle(code int16, h HandlerFunc) { m.routes[code] = route{h: h} }

// HandleInline registers h for code to run on the connection's read loop, in
// arrival order. h must not block: it is for work that is short and whose
// order matters, such as appending a sent message (its durability wait
// replies later through Conn.Reply).
func (m *Mux) HandleInline(code int16, h HandlerFunc) { m.routes[code] = route{h: h, inline: true} }

// HandleInlineBatch registers h for codes, on the read loop like
// HandleInline. When several requests with these codes are already buffered
// back to back — a peer pipelining sends — h gets them together, so their
// work (appending messages) can be done at once. Requests keep their order.
func (m *Mux) HandleInlineBatch(h BatchHandlerFunc, codes ...int16) {
	br := &batchRoute{h: h}
	for _, code := range codes {
		m.routes[code] = route{inline: true, batch: br}
	}
}

func (m *Mux) lookup(code int16) (route, bool) {
	if m == nil {
		return route{}, false
	}
	r, ok := m.routes[code]
	return r, ok
}
