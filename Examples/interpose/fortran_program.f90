! A Fortran program calling SGEMM and DGEMM through the Fortran BLAS ABI (gfortran passes the
! hidden character lengths), checked against loops; then a bad call, after which it must go on.
program fortran_gemm
  implicit none
  integer, parameter :: m = 37, n = 29, k = 41
  double precision :: a(k, m), b(n, k), c(m, n), ref(m, n)
  real :: sa(m, k), sb(k, n), sc(m, n), sref(m, n)
  double precision :: err
  real :: serr
  integer :: i, j
  call random_number(a); call random_number(b); call random_number(c)
  ref = 0.5d0 * matmul(transpose(a), transpose(b)) + 2.0d0 * c
  call dgemm('T', 't', m, n, k, 0.5d0, a, k, b, n, 2.0d0, c, m)
  err = maxval(abs(c - ref)) / maxval(abs(ref))
  call random_number(sa); call random_number(sb)
  sc = -1.0
  sref = matmul(sa, sb)
  call sgemm('N', 'N', m, n, k, 1.0, sa, m, sb, k, 0.0, sc, m)
  serr = maxval(abs(sc - sref)) / maxval(abs(sref))
  print '(a, es10.2, a, es10.2)', 'fortran dgemm error ', err, ' sgemm error ', serr
  ! lda too small: parameter 8; C must stay as it is and the program must go on.
  sref = sc
  call sgemm('N', 'N', m, n, k, 1.0, sa, m - 1, sb, k, 0.0, sc, m)
  do j = 1, n
    do i = 1, m
      if (sc(i, j) /= sref(i, j)) stop 'C changed by a refused call'
    end do
  end do
  if (err > 1d-13 .or. serr > 1e-5) stop 'wrong result'
  print '(a)', 'fortran ok after a refused call'
end program fortran_gemm
