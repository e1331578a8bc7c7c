// Command evident runs an Evident instance and administers it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/evident-isms/evident/internal/audit"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command could not do its work
	exitUsage = 2 // the command line itself is wrong
)

// usageError marks a mistake in the command line.
type usageError struct{ error }

// run executes one command line and returns the exit code. Every failure is
// one line on stderr, never a stack trace.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal starts a graceful stop, a second one ends the
	// process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	// Changes made through the CLI are the operator's: the audit log names
	// the actor "system cli".
	cliCtx := audit.WithActor(ctx, audit.System("cli"))
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(cliCtx)
	if err == nil {
		return exitOK
	}
	msg := strings.TrimSpace(strings.ReplaceAll(err.Error(), "\n", " "))
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(msg) {
		fmt.Fprintf(stderr, "evident: %s (see evident --help)\n", msg)
		return exitUsage
	}
	fmt.Fprintf(stderr, "evident: %s\n", msg)
	return exitError
}

// isCobraUsage recognises the command-line errors cobra itself reports.
func isCobraUsage(msg string) bool {
	// Flag parsing errors arrive as usageError through the flag error
	// function; these are the command-level ones.
	for _, p := range []string{"unknown command", "required flag(s)", "accepts 0 arg(s)"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
