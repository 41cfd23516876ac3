# perfex extract under MPI and over a plan (host/cli/cmd_extract_mpi.c,
# host/mpi.c, docs/mpi.md). The MPI cases run `mpirun -n 2 --oversubscribe`
# (root needs OMPI_ALLOW_RUN_AS_ROOT, set in their environment); they are
# registered only with PERFEX_MPI and an mpirun. All use ../shared/data
# (cropped to 5-10 fibers and 100 A: seconds each) and skip without it.
add_executable(fits_data_cmp fits_data_cmp.c)
target_link_libraries(fits_data_cmp PRIVATE px_testutil)

# The plan mode needs no MPI: it also runs serially (and with -DPERFEX_MPI=OFF).
px_cli_test(cli_extract_plan_serial extract_plan_serial.sh $<TARGET_FILE:fits_data_cmp>)

if(PERFEX_MPI AND MPIEXEC_EXECUTABLE)
  set(PX_MPI_TEST_ENV "${PX_TEST_ENV}" "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
      "OMPI_MCA_rmaps_base_oversubscribe=1")
  if(PERFEX_SANITIZE)
    # OpenMPI's MCA components are dlclose'd before LeakSanitizer runs, so
    # their allocations kept until exit show as "<unknown module>" leaks that
    # no suppression can name: leak checking is off for runs under mpirun
    # (AddressSanitizer and UBSan still check them; the same extraction code
    # is leak-checked by the non-MPI tests).
    list(APPEND PX_MPI_TEST_ENV "ASAN_OPTIONS=detect_leaks=0")
  endif()
  # One frame on 2 (and 3) ranks: data bit-identical to one process, perfex
  # compare passes, the model image too; a bad PSF is one message, exit 1.
  px_cli_test(mpi_extract_frame mpi_frame.sh ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:fits_data_cmp>)
  # A plan of 4 frames on 2 ranks, one with a bad input: 3 outputs, one
  # FAILED line naming the files, the summary, a non-zero exit.
  px_cli_test(mpi_extract_plan_bad mpi_plan_bad.sh ${MPIEXEC_EXECUTABLE})
  # A plan killed once its first output appears, rerun with --resume: the
  # finished frames are not redone (same inode and mtime), the rest are made.
  px_cli_test(mpi_extract_plan_resume mpi_plan_resume.sh ${MPIEXEC_EXECUTABLE})
  # Two PoCL devices: the ranks of a node spread over them unless --device.
  px_cli_test(mpi_extract_devices mpi_devices.sh ${MPIEXEC_EXECUTABLE})
  set_tests_properties(mpi_extract_frame mpi_extract_plan_bad mpi_extract_plan_resume
                       mpi_extract_devices
                       PROPERTIES ENVIRONMENT "${PX_MPI_TEST_ENV}" TIMEOUT 300)
endif()
