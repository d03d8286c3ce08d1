#include "base/Sha256.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

namespace cuebox {
namespace {
struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string hex(const unsigned char* d, unsigned n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out.push_back(digits[d[i] >> 4]);
        out.push_back(digits[d[i] & 15]);
    }
    return out;
}
}  // namespace

std::string sha256Hex(std::string_view bytes) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(bytes.data(), bytes.size(), d, &n, EVP_sha256(), nullptr);
    return hex(d, n);
}

Result<std::string> sha256File(const std::string& path, std::uint64_t* bytes) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) return makeError(Errc::io, "file", "cannot read '" + path + "': " + std::strerror(errno));
    std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    char buf[1 << 16];
    std::uint64_t total = 0;
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
        EVP_DigestUpdate(ctx.get(), buf, n);
        total += n;
    }
    if (std::ferror(f.get())) return makeError(Errc::io, "file", "cannot read '" + path + "'");
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx.get(), d, &len);
    if (bytes) *bytes = total;
    return hex(d, len);
}

}  // namespace cuebox
