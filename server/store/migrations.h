// The SQLite schema of the coordinator as numbered migrations. Migration i
// (1-based) moves the schema from version i-1 to i; SqliteStore applies the
// missing ones in order, each in its own transaction together with the row
// that records its number in schema_version. Never edit a released migration:
// append a new one.
#pragma once

#include <string>
#include <vector>

namespace lcsweep {

// Ordered; element 0 is migration 1.
const std::vector<std::string>& SchemaMigrations();

}  // namespace lcsweep
