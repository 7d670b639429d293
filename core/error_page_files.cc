#include "core/error_page_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include "core/http_head.h"

namespace gourmet::core {
namespace {

std::string label(int status) { return status == 0 ? "default" : std::to_string(status); }

// `path` whole, or why not ("No such file or directory", "larger than ...").
Result<std::string> readWhole(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::strerror(errno));
  std::string content;
  char buffer[16 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return fail(std::strerror(error));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    if (content.size() > kMaxErrorPageSize) {
      ::close(fd);
      return fail(fmt::format("larger than {} KiB", kMaxErrorPageSize / 1024));
    }
  }
  ::close(fd);
  return content;
}

// The files of one build, each read once.
class PageReader {
 public:
  explicit PageReader(const Config& config)
      : base_(std::filesystem::path(config.file).parent_path()) {}

  Result<ErrorPages::File> read(const ErrorPagesConfig& pages, int status) {
    const std::string& written = pages.files.at(status);
    std::filesystem::path path(written);
    if (path.is_relative() && !base_.empty()) path = base_ / path;
    const std::string resolved = path.lexically_normal().string();
    auto known = bodies_.find(resolved);
    if (known == bodies_.end()) {
      auto content = readWhole(resolved);
      if (!content) {
        auto at = pages.positions.find(status);
        const std::string prefix =
            at != pages.positions.end() ? at->second.prefix() : pages.pos.prefix();
        return fail(fmt::format("{}error_pages {}: cannot read {}: {}", prefix, label(status),
                                resolved, content.error().message));
      }
      known =
          bodies_.emplace(resolved, std::make_shared<const std::string>(std::move(*content))).first;
    }
    return ErrorPages::File{
        .status = status, .content_type = errorPageContentType(resolved), .body = known->second};
  }

 private:
  std::filesystem::path base_;
  std::map<std::string, std::shared_ptr<const std::string>> bodies_;
};

}  // namespace

std::string_view errorPageContentType(std::string_view path) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "text/html; charset=utf-8";
  }
  const std::string_view extension = path.substr(dot + 1);
  if (equalsIgnoreCase(extension, "json")) return "application/json";
  if (equalsIgnoreCase(extension, "txt")) return "text/plain; charset=utf-8";
  return "text/html; charset=utf-8";  // .html, .htm, and what gourmet cannot tell
}

bool namesErrorPageFiles(const Config& config) {
  if (!config.server.error_pages.empty()) return true;
  for (const LocationConfig& location : config.server.locations) {
    if (!location.error_pages.empty()) return true;
  }
  return false;
}

Result<ErrorPageSets> loadErrorPages(const Config& config) {
  ErrorPageSets sets;
  sets.listener = ErrorPages::standard();
  if (!namesErrorPageFiles(config)) {
    sets.locations.assign(config.server.locations.size(), sets.listener);
    return sets;
  }
  PageReader reader(config);
  // One ErrorPages per distinct status -> path map, the listener's first.
  std::map<std::map<int, std::string>, std::shared_ptr<const ErrorPages>> built;
  auto build = [&](const ErrorPagesConfig& pages) -> Result<std::shared_ptr<const ErrorPages>> {
    auto known = built.find(pages.files);
    if (known != built.end()) return known->second;
    std::vector<ErrorPages::File> files;
    for (const auto& [status, path] : pages.files) {
      auto file = reader.read(pages, status);
      if (!file) return tl::unexpected(file.error());
      files.push_back(std::move(*file));
    }
    auto made = pages.files.empty() ? ErrorPages::standard() : ErrorPages::withFiles(files);
    built.emplace(pages.files, made);
    return made;
  };

  auto listener = build(config.server.error_pages);
  if (!listener) return tl::unexpected(listener.error());
  sets.listener = std::move(*listener);
  for (const LocationConfig& location : config.server.locations) {
    if (location.error_pages.empty()) {
      sets.locations.push_back(sets.listener);
      continue;
    }
    // The location's files over the listener's, status by status; the
    // positions stay those of the location that names each file.
    ErrorPagesConfig merged = config.server.error_pages;
    for (const auto& [status, path] : location.error_pages.files) {
      merged.files[status] = path;
      auto at = location.error_pages.positions.find(status);
      merged.positions[status] =
          at != location.error_pages.positions.end() ? at->second : location.error_pages.pos;
    }
    auto pages = build(merged);
    if (!pages) return tl::unexpected(pages.error());
    sets.locations.push_back(std::move(*pages));
  }
  return sets;
}

}  // namespace gourmet::core
