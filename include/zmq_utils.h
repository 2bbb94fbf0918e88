/* SPDX-License-Identifier: MPL-2.0 */

/*  This file is deprecated: all its former functionality (zmq_stopwatch_*,   */
/*  zmq_sleep, zmq_threadstart, zmq_threadclose) is declared by zmq.h, which  */
/*  it includes. Like libzmq 4.3.5's, it tells GCC users so; unlike that one, */
/*  it does it with a note, which does not fail a -Werror build.              */

#ifndef __ZMQ_UTILS_H_INCLUDED__
#define __ZMQ_UTILS_H_INCLUDED__

#if defined(__GNUC__) && !defined(__clang__)
#pragma message(                                                               \
  "Warning: zmq_utils.h is deprecated. All its functionality is provided by zmq.h.")
#endif

#include "zmq.h"

#endif
