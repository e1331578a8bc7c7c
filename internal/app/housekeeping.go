package app

import (
	"context"
	"time"

	"github.com/evident-isms/evident/internal/job"
)

const (
	retentionKind  = "privacy.retention"
	checkpointKind = "audit.checkpoint"
)

// registerHousekeeping schedules the instance's own periodic work: applying
// the retention rules of the personal-data registry, and signing a
// checkpoint of every audit chain that moved, hourly.
func registerHousekeeping(a *App) {
	a.Queue.Register(retentionKind, job.Kind{Handler: func(ctx context.Context, _ job.Job) error {
		done, err := a.DB.ApplyRetention(ctx, a.Clock.Now())
		for table, n := range done {
			if n > 0 {
				a.Log.Info("retention applied", "table", table, "rows", n)
			}
		}
		return err
	}})
	a.Queue.Every(retentionKind, time.Hour)
	a.Queue.Register(checkpointKind, job.Kind{Handler: func(ctx context.Context, _ job.Job) error {
		return a.Audit.CheckpointAll(ctx)
	}})
	a.Queue.Every(checkpointKind, time.Hour)
}
