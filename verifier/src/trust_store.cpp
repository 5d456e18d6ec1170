#include <filesystem>
#include <fstream>
#include <sstream>

#include "cvmwatch/verifier/snp.h"
#include "cvmwatch/verifier/tdx.h"
#include "cvmwatch/verifier/verifier.h"

namespace cvmwatch::verifier {
namespace {

namespace fs = std::filesystem;

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIo, "cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every *.der / *.pem certificate in `dir` (absent directory = none), sorted by file name.
Result<std::vector<Bytes>> LoadCertificates(const fs::path& dir) {
  std::vector<Bytes> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const auto ext = f.extension().string();
    if (ext != ".der" && ext != ".pem") continue;
    CVMW_ASSIGN_OR_RETURN(std::string content, ReadFile(f));
    if (ext == ".der") {
      out.emplace_back(content.begin(), content.end());
    } else {
      auto ders = PemCertificatesToDer(content);
      if (!ders.ok()) return MakeError(ders.error().code, f.string() + ": " + ders.error().message);
      out.insert(out.end(), ders->begin(), ders->end());
    }
  }
  return out;
}

}  // namespace

std::string DirectoryVcekSource::FileName(ByteView chip_id, std::uint64_t reported_tcb) {
  char tcb[17];
  std::snprintf(tcb, sizeof tcb, "%016llx", static_cast<unsigned long long>(reported_tcb));
  return ToHex(chip_id, false) + "_" + tcb + ".der";
}

std::optional<Bytes> DirectoryVcekSource::FindVcek(ByteView chip_id, std::uint64_t reported_tcb) const {
  for (const std::string& name : {FileName(chip_id, reported_tcb), ToHex(chip_id, false) + ".der"}) {
    auto content = ReadFile(fs::path(dir_) / name);
    if (content.ok()) return Bytes(content->begin(), content->end());
  }
  return std::nullopt;
}

Result<TrustStore> TrustStore::LoadFromDirectory(const std::string& dir) {
  if (!fs::is_directory(dir)) return MakeError(ErrorCode::kNotFound, "trust directory " + dir + " not found");
  TrustStore t;
  const fs::path base(dir);
  CVMW_ASSIGN_OR_RETURN(t.tpm_ak_roots, LoadCertificates(base / "tpm-ak-roots"));
  CVMW_ASSIGN_OR_RETURN(t.amd_arks, LoadCertificates(base / "amd-arks"));
  CVMW_ASSIGN_OR_RETURN(t.amd_asks, LoadCertificates(base / "amd-asks"));
  CVMW_ASSIGN_OR_RETURN(t.intel_roots, LoadCertificates(base / "intel-roots"));
  if (fs::is_directory(base / "vcek")) t.vceks = std::make_shared<DirectoryVcekSource>((base / "vcek").string());
  if (fs::is_directory(base / "tdx-collateral")) {
    t.tdx_collateral = std::make_shared<DirectoryTdxCollateralSource>((base / "tdx-collateral").string());
  }
  return t;
}

}  // namespace cvmwatch::verifier
