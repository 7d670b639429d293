#pragma once

// The files `error_pages` names, read into ErrorPages when a snapshot is
// built (main thread; small files, read once per build, so a reload rereads
// them and picks up a changed page).
//
// - A path is used as written when absolute, else resolved against the
//   directory of the config file.
// - A file that cannot be read, or is larger than kMaxErrorPageSize, is a
//   config error at the position the file is named:
//     gourmet.yaml:4:10: error_pages 502: cannot read /x/502.html: No such file or directory
// - The Content-Type comes from the extension (errorPageContentType); any
//   other extension is served as HTML, the common case for pages named
//   .shtml, .page or without an extension.
// - A location's files replace the listener's for the statuses they name,
//   its `default` the listener's `default`. Each distinct set becomes one
//   ErrorPages, and each file is read once however many sets use it.

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "core/error_page.h"

namespace gourmet::core {

// Error pages are kept in memory, for every snapshot alive: 1 MiB is far
// beyond a page and still a bound a typo'd path (a log file) cannot pass.
inline constexpr size_t kMaxErrorPageSize = 1024 * 1024;

// text/html; charset=utf-8 for .html, .htm and anything unknown;
// application/json for .json; text/plain; charset=utf-8 for .txt. The
// extension's case does not matter.
std::string_view errorPageContentType(std::string_view path);

struct ErrorPageSets {
  std::shared_ptr<const ErrorPages> listener;
  // Parallel to config.server.locations; the listener's pointer where a
  // location names no file, one shared pointer per distinct set.
  std::vector<std::shared_ptr<const ErrorPages>> locations;
};

// Reads every file `config` names. ErrorPages::standard() for a config
// without error_pages, without touching the disk.
Result<ErrorPageSets> loadErrorPages(const Config& config);

// Whether `config` names any error page file: a reload must then rebuild
// even when the config reads the same, since a page may have changed.
bool namesErrorPageFiles(const Config& config);

}  // namespace gourmet::core
