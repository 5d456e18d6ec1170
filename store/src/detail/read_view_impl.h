// ReadView's state: a RocksDB snapshot and the database it belongs to (kept open by the view).
#pragma once

#include <memory>

#include "cvmwatch/store/store.h"
#include "detail/database.h"

namespace cvmwatch::store {

struct ReadView::Impl {
  std::shared_ptr<detail::Database> db;
  const rocksdb::Snapshot* snapshot = nullptr;

  rocksdb::ReadOptions Options() const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    return ro;
  }
  ~Impl() {
    if (db && snapshot != nullptr) db->db->ReleaseSnapshot(snapshot);
  }
};

}  // namespace cvmwatch::store
