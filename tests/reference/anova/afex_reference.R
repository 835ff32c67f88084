# Produces the R reference values stored beside this file. Run ONCE from the
# repository root:  Rscript tests/reference/anova/afex_reference.R
# Produced with R 4.2.2 (2022-11-10 r83330), afex 1.2-1, car 3.1-1,
# lme4 1.1-31, nlme 3.1-162 (Debian r-cran packages). saatrial never runs R.
suppressPackageStartupMessages({library(afex); library(car); library(lme4); library(nlme)})
dir <- "tests/reference/anova"
fmt <- function(x) trimws(formatC(x, digits = 15, format = "g"))

afex_tables <- function(dat, name) {
  a <- suppressWarnings(suppressMessages(
    aov_ez(id = "subject", dv = "y", data = dat, between = "group", within = "time",
           type = 3)))
  s <- summary(a$Anova, multivariate = FALSE)
  u <- s$univariate.tests
  u <- u[rownames(u) != "(Intercept)", , drop = FALSE]
  out <- data.frame(effect = rownames(u), SS = fmt(u[, "Sum Sq"]), df = u[, "num Df"],
                    SS_error = fmt(u[, "Error SS"]), df_error = u[, "den Df"],
                    F = fmt(u[, "F value"]), p = fmt(u[, "Pr(>F)"]),
                    eps_GG = NA, p_GG = NA, eps_HF = NA, p_HF = NA,
                    mauchly_W = NA, mauchly_p = NA, stringsAsFactors = FALSE)
  if (nlevels(dat$time) > 2) {  # car prints no usable corrections for 2 levels
    pa <- s$pval.adjustments; sp <- s$sphericity.tests
    for (eff in rownames(pa)) {
      i <- which(out$effect == eff)
      out$eps_GG[i] <- fmt(pa[eff, "GG eps"]); out$p_GG[i] <- fmt(pa[eff, "Pr(>F[GG])"])
      out$eps_HF[i] <- fmt(pa[eff, "HF eps"]); out$p_HF[i] <- fmt(pa[eff, "Pr(>F[HF])"])
      if (!is.null(sp) && eff %in% rownames(sp)) {
        out$mauchly_W[i] <- fmt(sp[eff, "Test statistic"]); out$mauchly_p[i] <- fmt(sp[eff, "p-value"])
      }
    }
  }
  out$n_subjects <- nrow(a$data$wide)
  write.csv(out, file.path(dir, paste0("afex_", name, ".csv")), row.names = FALSE, quote = FALSE)
}

# Howell (2010), Table 14.4: King (1986), 3 groups x 6 intervals, n = 8.
king <- read.csv(file.path(dir, "howell_king1986.csv"))
king$subject <- factor(seq_len(nrow(king)))
long <- reshape(king, direction = "long", varying = paste0("Int", 1:6), v.names = "y",
                timevar = "time", idvar = "subject")
long$group <- factor(long$Group); long$time <- factor(long$time)
afex_tables(long, "howell_king1986")

for (name in c("random_3groups_4times", "random_2groups_3times", "random_2groups_2times",
               "random_2groups_3times_missing")) {
  d <- read.csv(file.path(dir, paste0(name, ".csv")))
  d$subject <- factor(d$subject); d$group <- factor(d$group); d$time <- factor(d$time)
  afex_tables(d, name)
}

# Linear mixed model with missing visits: random intercept, REML; Wald
# chi-square (type III, car::Anova) of the group x time interaction.
d <- read.csv(file.path(dir, "random_2groups_3times_missing.csv"))
d <- d[!is.na(d$y), ]
d$group <- factor(d$group); d$time <- factor(d$time)
m <- lmer(y ~ group * time + (1 | subject), data = d, REML = TRUE)
aw <- Anova(m, type = 3, test.statistic = "Chisq")
m2 <- lme(y ~ group * time, random = ~ 1 | subject, data = d, method = "REML")
vc <- as.data.frame(VarCorr(m))
out <- data.frame(
  quantity = c("interaction_chi2", "interaction_df", "interaction_p",
               "random_intercept_var", "residual_var", "lme_interaction_F_numDF2",
               paste0("fixef:", names(fixef(m))), paste0("se:", names(fixef(m)))),
  value = fmt(c(aw["group:time", "Chisq"], aw["group:time", "Df"],
                aw["group:time", "Pr(>Chisq)"], vc$vcov[1], vc$vcov[2],
                anova(m2, type = "marginal")["group:time", "F-value"],
                unname(fixef(m)), unname(sqrt(diag(as.matrix(vcov(m))))))))
write.csv(out, file.path(dir, "lmer_random_2groups_3times_missing.csv"), row.names = FALSE,
          quote = FALSE)
cat("done\n")
