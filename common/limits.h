// Every bound lcsweep puts on what a client sends and on what it answers, in
// one place. The coordinator enforces them on the way in (server/rpc/
// request_checks.h, and the parsers in common/), refusing a request that
// passes one with INVALID_ARGUMENT whose message names the field and the
// limit, e.g.
//   result_json: nested 70000 levels deep; the limit is 32 (kMaxResultDepth)
// proto/lcsweep/v1/*.proto repeats them next to the fields, and
// docs/limits.md lists them with their reasons; this header is the source.
//
// Why bound at all: whatever is stored is read back by every later call that
// touches it (GetJob, ListJobs, GetResults, the dashboard), after restarts
// too, and by code that recurses over JSON (nlohmann's dump, the result
// flattener) or builds replies that must fit a default gRPC client (4 MiB).
// One request must never be able to crash the coordinator or make other
// calls fail, so the bounds are checked before anything is parsed or stored.
//
// Sizes are bytes of UTF-8 text. Thread-safety: constants.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lcsweep {

// --- JSON documents ---------------------------------------------------------

// A sweep spec nests a few levels (base.model.conv.lc_rate inside a list
// entry is 4); 64 leaves room for any hand-written spec while keeping the
// recursive code (dump, validation) far from stack trouble.
inline constexpr size_t kMaxSpecDepth = 64;
// A sweep spec's text. The largest sweep (kMaxSweepJobs jobs) written as a
// "list" of short override objects is about 2.6 MB; a grid is far smaller.
// 3 MiB stays below a default client's 4 MiB receive limit when the spec is
// sent back (GetSweep, ListSweeps).
inline constexpr size_t kMaxSpecBytes = size_t{3} << 20;
// A job's result document: metrics by split and attack, a few levels deep
// ("eval.fgsm[eps=...].accuracy"). 32 levels is far more than any trainer
// writes and keeps the result flattener (server/core) and nlohmann's dump
// (both recursive) shallow: 70,000 levels crashed the coordinator.
inline constexpr size_t kMaxResultDepth = 32;
// A result's text. Real results are a few KiB; 1 MiB keeps a job under a
// default client's 4 MiB limit in every reply that carries it (GetJob,
// ListJobs, WatchJob, SubmitSweep's reused results).
inline constexpr size_t kMaxResultBytes = size_t{1} << 20;
// Most jobs one sweep may expand to (before duplicates are collapsed): the
// largest sweep the coordinator plans and stores in one go.
inline constexpr size_t kMaxSweepJobs = 100000;

// --- Strings that are stored -----------------------------------------------

// A sweep's name: an identifier people type ([A-Za-z0-9._-]).
inline constexpr size_t kMaxSweepNameBytes = 128;
// A sweep's description: a paragraph, not a document.
inline constexpr size_t kMaxDescriptionBytes = size_t{16} << 10;
// One tag, and tags per sweep: labels to filter by (ListSweeps tag).
inline constexpr size_t kMaxTagBytes = 64;
inline constexpr size_t kMaxTags = 64;
// A metric name ("test.accuracy", "eval.pgd[eps=0.03].accuracy"): stored with
// every point and used as a map key in progress.
inline constexpr size_t kMaxMetricNameBytes = 256;
// Metric names in one heartbeat's progress (the last value of each): a
// trainer reports tens; progress is stored on the job and sent with it.
inline constexpr size_t kMaxProgressMetrics = 256;
// FailJob's error text: room for a message plus a short stack trace; it is
// stored on the job and sent with every copy of it.
inline constexpr size_t kMaxErrorTextBytes = size_t{16} << 10;
// A cancel / release reason: one line in the audit trail.
inline constexpr size_t kMaxReasonBytes = 1024;
// A worker's name, hostname, device kind/name, and each version / label key
// and value: short identifiers shown in tables.
inline constexpr size_t kMaxWorkerFieldBytes = 256;
// Devices, versions and labels of one worker.
inline constexpr size_t kMaxWorkerDevices = 64;
inline constexpr size_t kMaxWorkerMapEntries = 64;

// --- Strings that are only compared -----------------------------------------

// Lease tokens, page tokens, checkpoint digests: the server makes them all
// and they are short; anything longer is not one of ours.
inline constexpr size_t kMaxTokenBytes = 256;

// --- Numbers ----------------------------------------------------------------

// A sweep's priority (spec "priority" and SubmitSweep's override). Jobs are
// ordered by it; a million levels either way is more than anyone ranks.
inline constexpr int64_t kMinPriority = -1000000;
inline constexpr int64_t kMaxPriority = 1000000;

// --- Replies ----------------------------------------------------------------

// gRPC's default receive limit of a client: no reply may be larger.
inline constexpr size_t kDefaultClientMaxReceiveBytes = size_t{4} << 20;
// What one reply of a read or list RPC is cut at (ListJobs, ListSweeps,
// ListEvents, GetResults pages): its items' encoded size stays below this, a
// margin of 1 MiB under kDefaultClientMaxReceiveBytes for the envelope and
// for a single item that alone is larger (one is always returned).
inline constexpr size_t kReplyBudgetBytes = size_t{3} << 20;

// --- Error replies ------------------------------------------------------------

// Status message and details travel in HTTP/2 trailers, and a default gRPC
// client refuses trailers above 8 KiB (RESOURCE_EXHAUSTED, no errors shown).
// Field errors sent in full: the first ones, plus "and M more".
inline constexpr size_t kMaxReportedFieldErrors = 20;
// Serialized ErrorDetails (sent base64-encoded, so about 4/3 of this).
inline constexpr size_t kMaxErrorDetailsBytes = size_t{3} << 10;
// A status message as sent (percent-encoded, so non-ASCII bytes count 3).
inline constexpr size_t kMaxStatusMessageBytes = size_t{2} << 10;
// Each text of one reported field error (path, found, expected, hint): a
// path or a quoted value can be as long as the document's longest key.
inline constexpr size_t kMaxFieldErrorTextBytes = 256;

}  // namespace lcsweep
