// The admission library alone: dsw::answer_review() on AdmissionReview bytes, i.e. decode (nesting
// guard + parse) + find the traits + validate or default + encode the answer, for reviews of 1,
// 10, 100 and 1000 components. items/s counts components, so the per-component cost reads
// directly; the O(N) fit (the "BigO" and "RMS" rows) shows whether the growth is linear.
#include <benchmark/benchmark.h>

#include <string>

#include <nlohmann/json.hpp>

#include "dsw/handler.h"
#include "dsw/review.h"
#include "review_builder.h"

namespace {

void run_serve(benchmark::State& state, dsw::Endpoint endpoint) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string body = dsw::bench::make_review(n);
  const dsw::Options options;
  // The benchmark measures the answer a client gets, so check it is the expected one.
  auto first = dsw::answer_review(endpoint, body, options);
  auto expected = endpoint == dsw::Endpoint::Mutate ? dsw::Verdict::Patched : dsw::Verdict::Allowed;
  if (first.http_status != 200 || first.verdict != expected ||
      (endpoint == dsw::Endpoint::Mutate && first.patch_ops != n)) {
    state.SkipWithError("answer_review() did not give the expected answer");
    return;
  }
  for (auto _ : state) {
    auto out = dsw::answer_review(endpoint, body, options);
    benchmark::DoNotOptimize(out.body.data());
  }
  state.SetComplexityN(state.range(0));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.counters["review_bytes"] = static_cast<double>(body.size());
}

void BM_ServeMutate(benchmark::State& state) { run_serve(state, dsw::Endpoint::Mutate); }
void BM_ServeValidate(benchmark::State& state) { run_serve(state, dsw::Endpoint::Validate); }

// decode_review() alone: the same reader as answer_review()'s (nlohmann's SAX parser), building the
// whole document instead of what the admission logic reads; the difference is what the pruning
// saves.
void BM_Decode(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string body = dsw::bench::make_review(n);
  const dsw::Options options;
  for (auto _ : state) {
    auto r = dsw::decode_review(body, options);
    benchmark::DoNotOptimize(&r);
  }
  state.SetComplexityN(state.range(0));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

// nlohmann's DOM parser (json::parse) over the same text, nothing else: the yardstick.
void BM_ParseDocument(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string body = dsw::bench::make_review(n);
  for (auto _ : state) {
    auto doc = nlohmann::json::parse(body);
    benchmark::DoNotOptimize(&doc);
  }
  state.SetComplexityN(state.range(0));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

}  // namespace

BENCHMARK(BM_ServeMutate)->RangeMultiplier(10)->Range(1, 1000)->Complexity(benchmark::oN);
BENCHMARK(BM_ServeValidate)->RangeMultiplier(10)->Range(1, 1000)->Complexity(benchmark::oN);
BENCHMARK(BM_Decode)->RangeMultiplier(10)->Range(1, 1000)->Complexity(benchmark::oN);
BENCHMARK(BM_ParseDocument)->RangeMultiplier(10)->Range(1, 1000)->Complexity(benchmark::oN);

BENCHMARK_MAIN();
