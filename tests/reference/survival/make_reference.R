# Reference numbers for tests/stats/test_survival_*.py, produced ONCE with R.
# Run from this directory:  Rscript make_reference.R
# Produced with R 4.2.2 (Debian), survival 3.5.3, coin 1.4.2.
# Writes the CSV files listed in README.md; the package never depends on R.
suppressPackageStartupMessages({library(survival); library(coin)})
options(digits = 15)
wcsv <- function(x, f) write.csv(x, f, row.names = FALSE, quote = TRUE)
scalars <- list()
put <- function(name, value) scalars[[name]] <<- value

## 1. AML maintenance data (Miller 1981) ---------------------------------------
aml_df <- data.frame(time = aml$time, status = aml$status, x = as.character(aml$x))
wcsv(aml_df, "aml.csv")
sd_aml <- survdiff(Surv(time, status) ~ x, data = aml)
put("aml_chisq", sd_aml$chisq)
put("aml_p", pchisq(sd_aml$chisq, 1, lower.tail = FALSE))
put("aml_observed_Maintained", sd_aml$obs[1]); put("aml_observed_Nonmaintained", sd_aml$obs[2])
put("aml_expected_Maintained", sd_aml$exp[1]); put("aml_expected_Nonmaintained", sd_aml$exp[2])
put("aml_var_11", sd_aml$var[1, 1])
km_rows <- list()
for (g in c("Maintained", "Nonmaintained")) {
  d <- aml[aml$x == g, ]
  fp <- survfit(Surv(time, status) ~ 1, data = d, conf.type = "plain")
  fl <- survfit(Surv(time, status) ~ 1, data = d, conf.type = "log-log")
  km_rows[[g]] <- data.frame(group = g, time = fp$time, n_risk = fp$n.risk,
                             n_event = fp$n.event, n_censor = fp$n.censor,
                             surv = fp$surv, std_err = fp$surv * fp$std.err,
                             lower_plain = fp$lower, upper_plain = fp$upper,
                             lower_loglog = fl$lower, upper_loglog = fl$upper)
  q <- quantile(fl, 0.5)
  put(paste0("aml_median_", g), q$quantile); put(paste0("aml_median_lower_", g), q$lower)
  put(paste0("aml_median_upper_", g), q$upper)
}
wcsv(do.call(rbind, km_rows), "aml_survfit.csv")
# reverse Kaplan-Meier (median follow-up), pooled arms, log-log interval
rk <- survfit(Surv(time, 1 - status) ~ 1, data = aml, conf.type = "log-log")
q <- quantile(rk, 0.5)
put("aml_revkm_median", q$quantile); put("aml_revkm_lower", q$lower); put("aml_revkm_upper", q$upper)

## 2. k groups and strata: VA lung cancer trial (Kalbfleisch & Prentice) -------------
vet <- data.frame(time = veteran$time, status = veteran$status, trt = veteran$trt,
                  celltype = as.character(veteran$celltype), prior = veteran$prior)
wcsv(vet, "veteran.csv")
sd_k <- survdiff(Surv(time, status) ~ celltype, data = veteran)
sd_s <- survdiff(Surv(time, status) ~ celltype + strata(trt), data = veteran)
sd_2s <- survdiff(Surv(time, status) ~ trt + strata(celltype), data = veteran)
put("veteran_celltype_chisq", sd_k$chisq)
put("veteran_celltype_strata_trt_chisq", sd_s$chisq)
put("veteran_trt_strata_celltype_chisq", sd_2s$chisq)
lv <- sub("celltype=", "", names(sd_k$n))
wcsv(data.frame(test = "celltype", group = lv, observed = sd_k$obs, expected = sd_k$exp,
                sd_k$var), "veteran_survdiff_celltype.csv")
# stratified: obs/exp are per stratum x group in R; sum over strata
wcsv(data.frame(test = "celltype+strata(trt)", group = lv, observed = rowSums(sd_s$obs),
                expected = rowSums(sd_s$exp), sd_s$var), "veteran_survdiff_celltype_strata.csv")

## 3. Competing risks: mgus2, progression (1) vs death (2), Aalen-Johansen -----------
etime <- with(mgus2, ifelse(pstat == 0, futime, ptime))
event <- with(mgus2, ifelse(pstat == 0, 2 * death, 1))
wcsv(data.frame(time = etime, cause = event), "mgus2_cr.csv")
fcr <- survfit(Surv(etime, factor(event)) ~ 1)
# states: "(s0)", "1", "2"; std.err is the infinitesimal-jackknife SE (R's default)
wcsv(data.frame(time = fcr$time, n_risk = fcr$n.risk[, 1],
                cif_1 = fcr$pstate[, 2], cif_2 = fcr$pstate[, 3],
                se_ij_1 = fcr$std.err[, 2], se_ij_2 = fcr$std.err[, 3]), "mgus2_aj.csv")

## 4. Exact (permutation) log-rank, 9 vs 9: coin::logrank_test -------------------
ex <- read.csv("exact_9v9.csv")   # written by hand, see README.md
for (case in unique(ex$case)) {
  d <- ex[ex$case == case, ]
  d$group <- factor(d$group)
  for (alg in c("split-up")) {
    lt <- logrank_test(Surv(time, status) ~ group, data = d,
                       distribution = exact(algorithm = alg))
    put(paste0("coin_", case, "_", alg, "_p"), pvalue(lt)[1])
    put(paste0("coin_", case, "_", alg, "_z"), statistic(lt))
  }
  put(paste0("survdiff_", case, "_chisq"),
      survdiff(Surv(time, status) ~ group, data = d)$chisq)
}

wcsv(data.frame(name = names(scalars), value = unlist(scalars)), "r_scalars.csv")
cat("done\n")
