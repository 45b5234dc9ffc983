// The two objects the trait's stream finally ends up in, checked where teams also write them
// directly: the kro `DynamoDBTable` instance KubeVela renders (kro.run, spec.streamEnabled and
// spec.streamViewType) and the AWS Controllers for Kubernetes `Table` kro renders from it
// (dynamodb.services.k8s.aws, spec.streamSpecification and spec.tableReplicas). The rules are
// those of stream_rules.h, with the tables' own meaning of the fields: the stream is on only
// when its field is true, and an empty view type is no view type. Validation only: these
// objects are never defaulted.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "dsw/options.h"
#include "dsw/stream_rules.h"

namespace dsw::tables {

inline constexpr std::string_view kAckGroup = "dynamodb.services.k8s.aws";
inline constexpr std::string_view kAckKind = "Table";
inline constexpr std::string_view kKroGroup = "kro.run";
inline constexpr std::string_view kKroKind = "DynamoDBTable";

// Every error and warning for an ACK Table. `old_table` is the object before an UPDATE (nullptr
// on CREATE). An UPDATE that leaves spec.streamSpecification and spec.tableReplicas as they were
// is not checked again, so that the controllers can still write (finalizers, annotations) to a
// Table that was stored before these rules applied to it.
streams::Findings validate_ack_table(const nlohmann::json& table, const nlohmann::json* old_table,
                                     const Options& options);

// Every error and warning for a kro DynamoDBTable instance. An instance with neither
// spec.streamEnabled nor spec.streamViewType (its ResourceGraphDefinition may have no stream
// fields) has nothing to check; an UPDATE that leaves both as they were is not checked again.
streams::Findings validate_kro_table(const nlohmann::json& table, const nlohmann::json* old_table,
                                     const Options& options);

}  // namespace dsw::tables
