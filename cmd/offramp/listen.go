package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/offramp/offramp/client"
	"github.com/offramp/offramp/webhook"
)

func listenCmd(f *apiFlags) *cobra.Command {
	var (
		addr      string
		configure bool
	)
	cmd := &cobra.Command{
		Use:   "listen",
		Short: "Receive webhooks locally: verify and print each event",
		Long: `Start a webhook receiver on this machine, point the organization's webhook URL at it
(it replaces the configured one; --configure=false leaves it), and verify and print every
event until interrupted. The sandbox allows loopback webhook URLs.`,
		Args: cobra.NoArgs,
		RunE: f.run(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			url := "http://" + ln.Addr().String() + "/webhooks"
			out := cmd.OutOrStdout()
			if configure {
				if _, err := c.SetWebhookURL(cmd.Context(), url); err != nil {
					ln.Close()
					return err
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "listening for webhooks at %s (Ctrl-C to stop)\n", url)
			srv := &http.Server{Handler: receiverHandler(f.apiKey, f.apiSecret, func(env webhook.Envelope, raw []byte, err error) {
				printEvent(out, f.json, env, raw, err)
			}), ReadHeaderTimeout: 5 * time.Second}
			go func() {
				<-cmd.Context().Done()
				srv.Close()
			}()
			if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
				return err
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "where to listen")
	cmd.Flags().BoolVar(&configure, "configure", true, "set the organization's webhook URL to this receiver")
	return cmd
}

// receiverHandler verifies each delivery with the organization's
// credentials and hands it to fn; it answers 401 to anything that does not
// verify, so Offramp retries and the problem shows in the delivery log.
func receiverHandler(apiKey, apiSecret string, fn func(webhook.Envelope, []byte, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		env, err := client.VerifyWebhook(r.Header, body, apiKey, apiSecret, webhook.DefaultTolerance, time.Now())
		fn(env, body, err)
		if err != nil {
			http.Error(w, "signature check failed", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

func printEvent(out io.Writer, asJSON bool, env webhook.Envelope, raw []byte, err error) {
	if asJSON {
		fmt.Fprintf(out, "{\"verified\":%t,\"body\":%s}\n", err == nil, raw)
		return
	}
	if err != nil {
		fmt.Fprintf(out, "%s  REJECTED  %v\n", time.Now().Format("15:04:05"), err)
		return
	}
	var meta []string
	for k, v := range env.Metadata {
		meta = append(meta, k+"="+v)
	}
	sort.Strings(meta)
	fmt.Fprintf(out, "%s  %-8s %-10s %s  seq %d  %s\n", time.Now().Format("15:04:05"), env.Type, env.Event, env.ID, env.Sequence, strings.Join(meta, " "))
}
