#include "cvmwatch/indexer/block_tracker.h"

#include <algorithm>

namespace cvmwatch::indexer {

BlockTracker::Link BlockTracker::Classify(const BlockRef& next) const {
  if (refs_.empty()) return Link::kFirst;
  if (next.number < refs_.front().number) return Link::kBehind;
  if (auto held = At(next.number)) return held->hash == next.hash ? Link::kKnown : Link::kFork;
  if (next.number == 0) return Link::kGap;
  if (auto parent = At(next.number - 1)) {
    return parent->hash == next.parent_hash ? Link::kExtends : Link::kFork;
  }
  return Link::kGap;
}

void BlockTracker::Seed(std::vector<BlockRef> refs) {
  refs_.clear();
  std::sort(refs.begin(), refs.end(),
            [](const BlockRef& a, const BlockRef& b) { return a.number < b.number; });
  for (auto& r : refs) Push(r);
}

void BlockTracker::Push(const BlockRef& ref) {
  while (!refs_.empty() && refs_.back().number >= ref.number) refs_.pop_back();
  refs_.push_back(ref);
  while (refs_.size() > window_) refs_.pop_front();
}

void BlockTracker::TruncateAfter(std::uint64_t number) {
  while (!refs_.empty() && refs_.back().number > number) refs_.pop_back();
}

std::optional<BlockRef> BlockTracker::Last() const {
  if (refs_.empty()) return std::nullopt;
  return refs_.back();
}

std::optional<BlockRef> BlockTracker::At(std::uint64_t number) const {
  auto it = std::lower_bound(refs_.begin(), refs_.end(), number,
                             [](const BlockRef& r, std::uint64_t n) { return r.number < n; });
  if (it == refs_.end() || it->number != number) return std::nullopt;
  return *it;
}

Result<std::optional<BlockRef>> BlockTracker::FindCommonAncestor(
    std::uint64_t from_number, const CanonicalHash& canonical) const {
  for (auto it = refs_.rbegin(); it != refs_.rend(); ++it) {
    if (it->number > from_number) continue;
    CVMW_ASSIGN_OR_RETURN(auto hash, canonical(it->number));
    if (!hash) continue;  // the node does not have this height (yet): no evidence either way
    if (*hash == it->hash) return std::optional<BlockRef>(*it);
  }
  return std::optional<BlockRef>();
}

}  // namespace cvmwatch::indexer
