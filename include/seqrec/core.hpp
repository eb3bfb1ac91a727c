// Everything in seqrec/core: concepts, errors, views, math, random numbers, parameters, linear algebra.
#pragma once

#include <seqrec/core/block_table.hpp>
#include <seqrec/core/column_sums.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/team_gemm.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/version.hpp>
