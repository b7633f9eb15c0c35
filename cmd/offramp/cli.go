package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/offramp/offramp/client"
)

// apiFlags are the credentials and output choice of the client commands.
// Each flag falls back to its OFFRAMP_* environment variable.
type apiFlags struct {
	baseURL   string
	apiKey    string
	apiSecret string
	json      bool
}

func (f *apiFlags) register(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.baseURL, "base-url", env("OFFRAMP_BASE_URL", "http://127.0.0.1:8080"), "Offramp API base URL [OFFRAMP_BASE_URL]")
	pf.StringVar(&f.apiKey, "api-key", env("OFFRAMP_API_KEY", ""), "API key [OFFRAMP_API_KEY]")
	pf.StringVar(&f.apiSecret, "api-secret", env("OFFRAMP_API_SECRET", ""), "API secret [OFFRAMP_API_SECRET]")
	pf.BoolVar(&f.json, "json", false, "print JSON instead of text, for scripts")
}

func (f *apiFlags) client() (*client.Client, error) {
	if f.apiKey == "" || f.apiSecret == "" {
		return nil, errors.New("credentials missing: set OFFRAMP_API_KEY and OFFRAMP_API_SECRET (or --api-key and --api-secret); `offramp serve` prints a sandbox pair on first start")
	}
	return client.New(strings.TrimRight(f.baseURL, "/"), f.apiKey, f.apiSecret, client.WithUserAgent("offramp-cli")), nil
}

// show prints v as indented JSON with --json, else as aligned "key  value"
// lines built by text.
func (f *apiFlags) show(out io.Writer, v any, text func(kv func(k string, v any))) error {
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	text(func(k string, v any) {
		s := fmt.Sprint(v)
		if s == "" {
			s = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, s)
	})
	return tw.Flush()
}

// table prints rows under a header, or v as JSON with --json.
func (f *apiFlags) table(out io.Writer, v any, header []string, rows [][]string) error {
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		for i := range r {
			if r[i] == "" {
				r[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// apiError makes an API error readable on a terminal: the message, then
// each field problem.
func apiError(err error) error {
	var e *client.Error
	if !errors.As(err, &e) {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (HTTP %d, %s)", e.Message, e.StatusCode, e.Code)
	for field, msgs := range e.Fields {
		for _, m := range msgs {
			if m != e.Message {
				fmt.Fprintf(&b, "\n  %s: %s", field, m)
			}
		}
	}
	return errors.New(b.String())
}

// run wraps a client command: build the client, call fn, make errors
// readable.
func (f *apiFlags) run(fn func(cmd *cobra.Command, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := f.client()
		if err != nil {
			return err
		}
		return apiError(fn(cmd, c, args))
	}
}
