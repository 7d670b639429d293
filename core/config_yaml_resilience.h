#pragma once

// The YAML of an upstream's failure handling and of error pages:
// outlier_detection, health_check, retries, and error_pages (README, When
// servers fail). Free functions over YamlReader so that config_yaml.cc stays
// the map of which key lives where.

#include "core/config.h"
#include "core/error.h"
#include "core/yaml_reader.h"

namespace gourmet::core {

Result<void> readOutlierDetection(const YamlReader& in, const YamlEntry& section,
                                  OutlierDetectionConfig& out);
Result<void> readHealthCheck(const YamlReader& in, const YamlEntry& section,
                             HealthCheckConfig& out);
Result<void> readRetries(const YamlReader& in, const YamlEntry& section, RetryConfig& out);
// {502: file, 503: file, default: file}; relative paths stay as written
// (resolved against the config file's folder when the files are read).
Result<void> readErrorPages(const YamlReader& in, const YamlEntry& section, ErrorPagesConfig& out);

}  // namespace gourmet::core
