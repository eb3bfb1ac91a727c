// Everything in seqrec/completion: the CompletionStrategy concept and top_k, the training matrix, the
// strategies (PopRec, item-kNN, implicit ALS, BPR-MF, biased SVD, EASE) and their blend with a sequence model.
#pragma once

#include <seqrec/completion/als.hpp>
#include <seqrec/completion/biased_svd.hpp>
#include <seqrec/completion/blend.hpp>
#include <seqrec/completion/bpr_mf.hpp>
#include <seqrec/completion/ease.hpp>
#include <seqrec/completion/factor_scores.hpp>
#include <seqrec/completion/item_knn.hpp>
#include <seqrec/completion/popularity.hpp>
#include <seqrec/completion/rating_matrix.hpp>
#include <seqrec/completion/strategy.hpp>
