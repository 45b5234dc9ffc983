// `dynamodb-streams-webhook audit`: judges the Applications, ACK Tables and kro DynamoDBTables a
// cluster holds as the validating webhook would, and writes the findings as OpenReports Reports
// (or wg-policy PolicyReports), one scan (--once) or one every --interval.
#pragma once

#include <string>
#include <vector>

namespace dsw::commands {

// Exit status: 0 the scan completed and every report was written; 1 the scan could not complete
// (nothing written); 2 usage or configuration error (nothing contacted); 3 the scan completed but
// some reports could not be written or deleted.
int audit(const std::vector<std::string>& args);

}  // namespace dsw::commands
