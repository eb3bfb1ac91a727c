// seqrec's scale-out over MPI: the communicator, data-parallel gradient synchronisation and federated
// averaging. Needs MPI (link MPI::MPI_CXX); see docs/distributed.md.
#pragma once

#include <seqrec/dist/communicator.hpp>
#include <seqrec/dist/data_parallel.hpp>
#include <seqrec/dist/fedavg.hpp>
