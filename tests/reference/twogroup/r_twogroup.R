# Produces tests/reference/twogroup/r_twogroup.csv. Run ONCE from the
# repository root:  Rscript tests/reference/twogroup/r_twogroup.R
# Produced with R 4.2.2 (2022-11-10 r83330), package stats only.
# saatrial never runs R.
fmt <- function(x) trimws(formatC(x, digits = 15, format = "g"))
rows <- list()
add <- function(case, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, quantity = quantity, value = fmt(value))
}
a <- c(15.2, 18.1, 12.4, 20.3, 16.8, 14.9, 17.5, 19.0, 13.3)
b <- c(11.1, 14.6, 9.8, 12.9, 15.3, 10.4, 13.7, 12.2, 16.0)
c7 <- c(12.0, 25.5, 8.1, 19.9, 30.2, 11.7, 22.4)
for (spec in list(list("student_ab", a, b, TRUE), list("welch_ab", a, b, FALSE),
                  list("student_ac", a, c7, TRUE), list("welch_ac", a, c7, FALSE))) {
  r <- t.test(spec[[2]], spec[[3]], var.equal = spec[[4]])
  add(spec[[1]], "t", r$statistic); add(spec[[1]], "df", r$parameter)
  add(spec[[1]], "p", r$p.value); add(spec[[1]], "ci_low", r$conf.int[1])
  add(spec[[1]], "ci_high", r$conf.int[2])
}
r <- wilcox.test(a, b, exact = TRUE); add("wilcox_exact_ab", "W", r$statistic)
add("wilcox_exact_ab", "p", r$p.value)
r <- wilcox.test(a, b, exact = FALSE, correct = TRUE); add("wilcox_normal_ab", "W", r$statistic)
add("wilcox_normal_ab", "p", r$p.value)
at <- c(1, 2, 2, 3, 5, 5, 5, 8, 9); bt <- c(2, 4, 5, 6, 6, 7, 9, 10, 12)
r <- suppressWarnings(wilcox.test(at, bt, correct = TRUE)); add("wilcox_ties", "W", r$statistic)
add("wilcox_ties", "p", r$p.value)

t22 <- matrix(c(12, 7, 5, 14), 2)          # rows (12, 5), (7, 14)
r <- chisq.test(t22, correct = FALSE); add("chisq_2x2", "X2", r$statistic); add("chisq_2x2", "p", r$p.value)
r <- chisq.test(t22, correct = TRUE); add("yates_2x2", "X2", r$statistic); add("yates_2x2", "p", r$p.value)
t23 <- matrix(c(3, 8, 10, 4, 5, 9), 2)     # rows (3, 10, 5), (8, 4, 9)
r <- chisq.test(t23); add("chisq_2x3", "X2", r$statistic); add("chisq_2x3", "p", r$p.value)
tsmall <- matrix(c(1, 4, 3, 1), 2)         # rows (1, 3), (4, 1): |O - E| < 0.5 nowhere
r <- suppressWarnings(chisq.test(tsmall, correct = TRUE)); add("yates_small", "X2", r$statistic)
add("yates_small", "p", r$p.value)

f <- list(
  fisher_2x2 = matrix(c(8, 1, 2, 5), 2),                         # (8, 2), (1, 5)
  fisher_2x3 = matrix(c(3, 0, 1, 2, 0, 4), 2),                   # (3, 1, 0), (0, 2, 4)
  fisher_2x3_b = matrix(c(1, 4, 2, 0, 3, 1), 2),                 # (1, 2, 3), (4, 0, 1)
  fisher_3x3 = matrix(c(2, 1, 5, 3, 0, 1, 0, 4, 2), 3),          # (2,3,0), (1,0,4), (5,1,2)
  fisher_2x3_zero_col = matrix(c(0, 0, 1, 2, 8, 7), 2),          # (0, 1, 8), (0, 2, 7)
  fisher_3x4 = matrix(c(5, 1, 3, 2, 4, 3, 1, 6, 0, 3, 2, 7), 3), # (5,2,1,3), (1,4,6,2), (3,3,0,7)
  fisher_4x4 = matrix(c(5, 3, 7, 2, 6, 9, 1, 2, 7, 2, 4, 8, 8, 6, 5, 3), 4)
)
for (nm in names(f)) add(nm, "p", fisher.test(f[[nm]], workspace = 2e7)$p.value)
out <- do.call(rbind, rows)
write.csv(out, "tests/reference/twogroup/r_twogroup.csv", row.names = FALSE, quote = FALSE)
cat("done\n")
