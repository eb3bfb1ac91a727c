// seqrec umbrella header.
#pragma once

#include <seqrec/core.hpp>
