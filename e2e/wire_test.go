package e2e

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/internal/protocol"
	"github.com/sluicehq/sluice/internal/remoting"
)

// routeExists asks a NameServer for topic's route with a raw request.
func routeExists(nameServer, topic string) bool {
	cl := remoting.NewClient(remoting.DefaultClientOptions())
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := cl.Invoke(ctx, nameServer, remoting.NewRequest(protocol.GetRouteInfoByTopic,
		remoting.Fields{{Key: "topic", Value: topic}}, nil))
	return err == nil && resp.Code == protocol.Success
}
