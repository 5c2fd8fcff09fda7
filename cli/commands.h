// The lcsweep CLI's commands, one header per command group. Each Run*
// function talks to the coordinator through cli/call.h (connect once, call,
// explain a failure), writes its output to io.out and its errors as
// "error: ..." lines to io.err, and returns the process exit code
// (cli/connection.h ExitCode). The Fetch* functions of a group make its
// gRPC calls (following every page); its Render* functions turn protos into
// text or JSON and need no server.
// Thread-safety: one command per process.
#pragma once

#include "cli/call.h"
#include "cli/cost.h"
#include "cli/compare.h"
#include "cli/export.h"
#include "cli/format.h"
#include "cli/health.h"
#include "cli/io.h"
#include "cli/job_actions.h"
#include "cli/jobs.h"
#include "cli/model.h"
#include "cli/results.h"
#include "cli/submit.h"
#include "cli/sweeps.h"
#include "cli/watch.h"
#include "cli/workers_events.h"
