// A bounded, thread-safe LRU map keyed by Hash32, for caching verified signatures and parsed
// certificates across verifications. Results never depend on the cache: only successes of pure
// checks are stored, keyed by everything the check depends on. Internal to verifier/.
#pragma once

#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "cvmwatch/core/bytes.h"

namespace cvmwatch::verifier::detail {

struct Hash32Hasher {
  std::size_t operator()(const Hash32& h) const {
    std::size_t v;
    std::memcpy(&v, h.data(), sizeof v);
    return v;
  }
};

template <typename V>
class LruCache {
 public:
  explicit LruCache(std::size_t capacity) : capacity_(capacity) {}

  std::optional<V> Get(const Hash32& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }
  void Put(const Hash32& key, V value) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = map_.find(key); it != map_.end()) {
      it->second->second = std::move(value);
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(key, std::move(value));
    map_[key] = order_.begin();
    while (map_.size() > capacity_) {
      map_.erase(order_.back().first);
      order_.pop_back();
    }
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    map_.clear();
    order_.clear();
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return map_.size();
  }

 private:
  mutable std::mutex mu_;
  std::size_t capacity_;
  std::list<std::pair<Hash32, V>> order_;
  std::unordered_map<Hash32, typename std::list<std::pair<Hash32, V>>::iterator, Hash32Hasher> map_;
};

}  // namespace cvmwatch::verifier::detail
