#include "base/Sha256.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

namespace cuebox {
namespace {
std::string toHex(const unsigned char* d, unsigned n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out.push_back(digits[d[i] >> 4]);
        out.push_back(digits[d[i] & 15]);
    }
    return out;
}
EVP_MD_CTX* ctx(void* p) { return static_cast<EVP_MD_CTX*>(p); }
}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx(ctx_), EVP_sha256(), nullptr); }
Sha256::~Sha256() { EVP_MD_CTX_free(ctx(ctx_)); }
void Sha256::update(std::string_view b) { EVP_DigestUpdate(ctx(ctx_), b.data(), b.size()); }
std::string Sha256::hex() {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(ctx(ctx_), d, &n);
    return toHex(d, n);
}

std::string sha256Hex(std::string_view bytes) {
    Sha256 h;
    h.update(bytes);
    return h.hex();
}

Result<std::string> sha256File(const std::string& path, std::uint64_t* bytes) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) return makeError(Errc::io, "file", "cannot read '" + path + "': " + std::strerror(errno));
    Sha256 h;
    char buf[1 << 16];
    std::uint64_t total = 0;
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
        h.update(std::string_view(buf, n));
        total += n;
    }
    if (std::ferror(f.get())) return makeError(Errc::io, "file", "cannot read '" + path + "'");
    if (bytes) *bytes = total;
    return h.hex();
}

}  // namespace cuebox
