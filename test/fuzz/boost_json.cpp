// Boost.JSON compiled into the fuzzers (instrumented like the rest).
#include <boost/json/src.hpp>
