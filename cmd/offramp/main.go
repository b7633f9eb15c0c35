// Command offramp is Offramp's single binary: the API server, its database
// migrations and the operator's admin commands.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "offramp:", err)
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "offramp",
		Short:         "Offramp: a crypto-to-fiat payout engine with a DollarPe-compatible API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(), migrateCmd(), adminCmd(), demoCmd(), benchCmd())
	root.AddCommand(clientCmds()...)
	return root
}
