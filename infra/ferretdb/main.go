// Command ferretdb runs FerretDB v1 (embedded Go package) on PostgreSQL (default) or SQLite.
//
// FerretDB's own cmd cannot simply be `go install`ed (it panics without its generated
// version files), so infra/infra.mjs builds this tiny wrapper instead:
//
//	go build -o .infra/bin/ferretdb ./infra/ferretdb
//
// Flags: -listen 127.0.0.1:27017  -handler postgresql|sqlite
//
//	-postgresql-url postgres://127.0.0.1:5433/ferretdb  (postgresql handler)
//	-data <dir>                                         (sqlite handler)
//	-log-level info|debug|warn|error
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	handler := flag.String("handler", "postgresql", "backend: postgresql or sqlite")
	pgURL := flag.String("postgresql-url", "postgres://127.0.0.1:5433/ferretdb", "PostgreSQL connection string (postgresql handler)")
	data := flag.String("data", ".infra/ferretdb/data", "SQLite data directory (sqlite handler)")
	level := flag.String("log-level", "info", "log level: debug, info, warn, error")
	flag.Parse()

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "bad -log-level %q: %v\n", *level, err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	config := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   logger,
		Handler:  *handler,
	}
	switch *handler {
	case "postgresql":
		config.PostgreSQLURL = *pgURL
	case "sqlite":
		dir, err := filepath.Abs(*data)
		if err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
		if err != nil {
			logger.Error("data dir", "err", err)
			os.Exit(1)
		}
		config.SQLiteURL = "file:" + dir + "/"
	default:
		fmt.Fprintf(os.Stderr, "bad -handler %q: postgresql or sqlite\n", *handler)
		os.Exit(2)
	}

	f, err := ferretdb.New(config)
	if err != nil {
		logger.Error("start", "err", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Info("FerretDB listening", "uri", f.MongoDBURI(), "handler", *handler)
	if err := f.Run(ctx); err != nil {
		logger.Error("run", "err", err)
		os.Exit(1)
	}
	logger.Info("FerretDB stopped")
}
